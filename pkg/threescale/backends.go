package threescale

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	porta "github.com/3scale/3scale-porta-go-client/client"
)

// Ownership annotation keys and value carried by every 3scale object the project
// creates; nothing without them is updated or deleted.
const (
	AnnotationManagedBy = "managed_by"
	AnnotationUID       = "maas_uid"
	ManagedByValue      = "maas-webhook"
)

// WithOwnership returns a copy of params with the ownership annotations added in
// the form porta accepts for products and backends (annotations[key]=value).
func WithOwnership(params porta.Params, uid string) porta.Params {
	out := porta.Params{}
	for k, v := range params {
		out[k] = v
	}
	out["annotations["+AnnotationManagedBy+"]"] = ManagedByValue
	out["annotations["+AnnotationUID+"]"] = uid
	return out
}

// IsOwnedBy reports whether annotations returned by 3scale mark the object as
// created by this project for uid.
func IsOwnedBy(annotations map[string]string, uid string) bool {
	return annotations[AnnotationManagedBy] == ManagedByValue && annotations[AnnotationUID] == uid
}

// NormalizeEndpoint adds the explicit default port porta stores for gateway and
// backend URLs ("https://x.example.com" -> "https://x.example.com:443"), so that
// desired and live values compare equal.
func NormalizeEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("normalize endpoint: %w", err)
	}
	ports := map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443"}
	port, ok := ports[u.Scheme]
	if !ok || u.Host == "" {
		return "", fmt.Errorf("normalize endpoint %q: want an absolute http(s) or ws(s) URL", raw)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u.String(), nil
}

// TrimBackendSuffix removes the ".<backend_id>" suffix porta appends to backend
// metric and method system names ("hits.42" -> "hits").
func TrimBackendSuffix(systemName string, backendID int64) string {
	return strings.TrimSuffix(systemName, "."+strconv.FormatInt(backendID, 10))
}

func backendObj(id int64) string { return fmt.Sprintf("backend %d", id) }

func systemNameObj(kind string, params porta.Params) string {
	if sn := params["system_name"]; sn != "" {
		return fmt.Sprintf("%s %q", kind, sn)
	}
	return fmt.Sprintf("%s %q", kind, params["name"])
}

// ListBackends lists every backend (all pages).
func (c *Client) ListBackends(ctx context.Context) ([]porta.BackendApiItem, error) {
	var out []porta.BackendApiItem
	err := c.callPorta(ctx, "ListBackends", "backends", func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListBackendApis()
		if err != nil {
			return err
		}
		for _, b := range l.Backends {
			out = append(out, b.Element)
		}
		return nil
	})
	return out, err
}

// FindBackend returns the backend with the system name, or an error matching
// ErrNotFound.
func (c *Client) FindBackend(ctx context.Context, systemName string) (*porta.BackendApiItem, error) {
	all, err := c.ListBackends(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].SystemName == systemName {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("3scale FindBackend %q: %w", systemName, ErrNotFound)
}

// Backend reads a backend.
func (c *Client) Backend(ctx context.Context, id int64) (*porta.BackendApiItem, error) {
	var out *porta.BackendApi
	err := c.callPorta(ctx, "ReadBackend", backendObj(id), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.BackendApi(id)
		return err
	})
	return elem(out, err, func(b *porta.BackendApi) *porta.BackendApiItem { return &b.Element })
}

// CreateBackend creates a backend; params take name, system_name, description,
// private_endpoint and annotations[...] (see WithOwnership).
func (c *Client) CreateBackend(ctx context.Context, params porta.Params) (*porta.BackendApiItem, error) {
	var out *porta.BackendApi
	err := c.callPorta(ctx, "CreateBackend", systemNameObj("backend", params), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateBackendApi(params)
		return err
	})
	return elem(out, err, func(b *porta.BackendApi) *porta.BackendApiItem { return &b.Element })
}

// UpdateBackend updates a backend (system_name is immutable and ignored).
func (c *Client) UpdateBackend(ctx context.Context, id int64, params porta.Params) (*porta.BackendApiItem, error) {
	var out *porta.BackendApi
	err := c.callPorta(ctx, "UpdateBackend", backendObj(id), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateBackendApi(id, params)
		return err
	})
	return elem(out, err, func(b *porta.BackendApi) *porta.BackendApiItem { return &b.Element })
}

// DeleteBackend deletes a backend; 3scale refuses (ErrForbidden) while a product
// uses it.
func (c *Client) DeleteBackend(ctx context.Context, id int64) error {
	return c.callPorta(ctx, "DeleteBackend", backendObj(id), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteBackendApi(id)
	})
}

// ListBackendMetrics lists a backend's metrics (not methods), system names with the
// backend suffix trimmed.
func (c *Client) ListBackendMetrics(ctx context.Context, backendID int64) ([]porta.MetricItem, error) {
	var out []porta.MetricItem
	err := c.callPorta(ctx, "ListBackendMetrics", backendObj(backendID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListBackendapiMetrics(backendID)
		if err != nil {
			return err
		}
		for _, m := range l.Metrics {
			m.Element.SystemName = TrimBackendSuffix(m.Element.SystemName, backendID)
			out = append(out, m.Element)
		}
		return nil
	})
	return out, err
}

// CreateBackendMetric creates a backend metric (friendly_name, unit, system_name,
// description).
func (c *Client) CreateBackendMetric(ctx context.Context, backendID int64, params porta.Params) (*porta.MetricItem, error) {
	var out *porta.MetricJSON
	err := c.callPorta(ctx, "CreateBackendMetric", systemNameObj("backend metric", params), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateBackendApiMetric(backendID, params)
		return err
	})
	return elem(out, err, func(m *porta.MetricJSON) *porta.MetricItem {
		m.Element.SystemName = TrimBackendSuffix(m.Element.SystemName, backendID)
		return &m.Element
	})
}

// UpdateBackendMetric updates a backend metric (friendly_name, unit, description).
func (c *Client) UpdateBackendMetric(ctx context.Context, backendID, metricID int64, params porta.Params) (*porta.MetricItem, error) {
	var out *porta.MetricJSON
	err := c.callPorta(ctx, "UpdateBackendMetric", fmt.Sprintf("backend %d metric %d", backendID, metricID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateBackendApiMetric(backendID, metricID, params)
		return err
	})
	return elem(out, err, func(m *porta.MetricJSON) *porta.MetricItem {
		m.Element.SystemName = TrimBackendSuffix(m.Element.SystemName, backendID)
		return &m.Element
	})
}

// DeleteBackendMetric deletes a backend metric.
func (c *Client) DeleteBackendMetric(ctx context.Context, backendID, metricID int64) error {
	return c.callPorta(ctx, "DeleteBackendMetric", fmt.Sprintf("backend %d metric %d", backendID, metricID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteBackendApiMetric(backendID, metricID)
	})
}

// ListBackendMethods lists the methods under a backend's hits metric, system names
// with the backend suffix trimmed.
func (c *Client) ListBackendMethods(ctx context.Context, backendID, hitsID int64) ([]porta.MethodItem, error) {
	var out []porta.MethodItem
	err := c.callPorta(ctx, "ListBackendMethods", backendObj(backendID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListBackendapiMethods(backendID, hitsID)
		if err != nil {
			return err
		}
		for _, m := range l.Methods {
			m.Element.SystemName = TrimBackendSuffix(m.Element.SystemName, backendID)
			out = append(out, m.Element)
		}
		return nil
	})
	return out, err
}

// CreateBackendMethod creates a method under a backend's hits metric.
func (c *Client) CreateBackendMethod(ctx context.Context, backendID, hitsID int64, params porta.Params) (*porta.MethodItem, error) {
	var out *porta.Method
	err := c.callPorta(ctx, "CreateBackendMethod", systemNameObj("backend method", params), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateBackendApiMethod(backendID, hitsID, params)
		return err
	})
	return elem(out, err, func(m *porta.Method) *porta.MethodItem {
		m.Element.SystemName = TrimBackendSuffix(m.Element.SystemName, backendID)
		return &m.Element
	})
}

// UpdateBackendMethod updates a backend method (friendly_name, description).
func (c *Client) UpdateBackendMethod(ctx context.Context, backendID, hitsID, methodID int64, params porta.Params) (*porta.MethodItem, error) {
	var out *porta.Method
	err := c.callPorta(ctx, "UpdateBackendMethod", fmt.Sprintf("backend %d method %d", backendID, methodID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateBackendApiMethod(backendID, hitsID, methodID, params)
		return err
	})
	return elem(out, err, func(m *porta.Method) *porta.MethodItem {
		m.Element.SystemName = TrimBackendSuffix(m.Element.SystemName, backendID)
		return &m.Element
	})
}

// DeleteBackendMethod deletes a backend method.
func (c *Client) DeleteBackendMethod(ctx context.Context, backendID, hitsID, methodID int64) error {
	return c.callPorta(ctx, "DeleteBackendMethod", fmt.Sprintf("backend %d method %d", backendID, methodID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteBackendApiMethod(backendID, hitsID, methodID)
	})
}

// elem returns the element of a porta wrapper, or the error.
func elem[W, E any](w *W, err error, get func(*W) *E) (*E, error) {
	if err != nil {
		return nil, err
	}
	return get(w), nil
}
