package threescale

import (
	"context"
	"fmt"
	"strconv"

	porta "github.com/3scale/3scale-porta-go-client/client"
)

func productObj(id int64) string { return fmt.Sprintf("product %d", id) }

func productItem(p *porta.Product) *porta.ProductItem          { return &p.Element }
func metricItem(m *porta.MetricJSON) *porta.MetricItem         { return &m.Element }
func methodItem(m *porta.Method) *porta.MethodItem             { return &m.Element }
func ruleItem(r *porta.MappingRuleJSON) *porta.MappingRuleItem { return &r.Element }

// ListProducts lists every product (all pages).
func (c *Client) ListProducts(ctx context.Context) ([]porta.ProductItem, error) {
	var out []porta.ProductItem
	err := c.callPorta(ctx, "ListProducts", "products", func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListProducts()
		if err != nil {
			return err
		}
		for _, p := range l.Products {
			out = append(out, p.Element)
		}
		return nil
	})
	return out, err
}

// FindProduct returns the product with the system name, or an error matching
// ErrNotFound.
func (c *Client) FindProduct(ctx context.Context, systemName string) (*porta.ProductItem, error) {
	all, err := c.ListProducts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].SystemName == systemName {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("3scale FindProduct %q: %w", systemName, ErrNotFound)
}

// Product reads a product.
func (c *Client) Product(ctx context.Context, id int64) (*porta.ProductItem, error) {
	var out *porta.Product
	err := c.callPorta(ctx, "ReadProduct", productObj(id), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.Product(id)
		return err
	})
	return elem(out, err, productItem)
}

// CreateProduct creates a product; params take system_name, description,
// deployment_option, backend_version and annotations[...] (see WithOwnership).
// 3scale also creates the hits metric, the "Default" service plan, a GET /
// mapping rule and the proxy.
func (c *Client) CreateProduct(ctx context.Context, name string, params porta.Params) (*porta.ProductItem, error) {
	obj := systemNameObj("product", porta.Params{"name": name, "system_name": params["system_name"]})
	var out *porta.Product
	err := c.callPorta(ctx, "CreateProduct", obj, func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateProduct(name, params)
		return err
	})
	return elem(out, err, productItem)
}

// UpdateProduct updates a product (system_name is immutable and ignored).
func (c *Client) UpdateProduct(ctx context.Context, id int64, params porta.Params) (*porta.ProductItem, error) {
	var out *porta.Product
	err := c.callPorta(ctx, "UpdateProduct", productObj(id), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateProduct(id, params)
		return err
	})
	return elem(out, err, productItem)
}

// DeleteProduct deletes a product. 3scale deletes softly: the system name stays
// taken until the product is purged asynchronously.
func (c *Client) DeleteProduct(ctx context.Context, id int64) error {
	return c.callPorta(ctx, "DeleteProduct", productObj(id), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteProduct(id)
	})
}

// ListBackendUsages lists the backends a product uses (a bare JSON array in the
// API).
func (c *Client) ListBackendUsages(ctx context.Context, productID int64) ([]porta.BackendAPIUsageItem, error) {
	var out []porta.BackendAPIUsageItem
	err := c.callPorta(ctx, "ListBackendUsages", productObj(productID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListBackendapiUsages(productID)
		for _, u := range l {
			out = append(out, u.Element)
		}
		return err
	})
	return out, err
}

// CreateBackendUsage makes a product use a backend at a path ("/" when empty).
func (c *Client) CreateBackendUsage(ctx context.Context, productID, backendID int64, path string) (*porta.BackendAPIUsageItem, error) {
	params := porta.Params{"backend_api_id": strconv.FormatInt(backendID, 10), "path": path}
	var out *porta.BackendAPIUsage
	err := c.callPorta(ctx, "CreateBackendUsage", fmt.Sprintf("product %d backend %d", productID, backendID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateBackendapiUsage(productID, params)
		return err
	})
	return elem(out, err, func(u *porta.BackendAPIUsage) *porta.BackendAPIUsageItem { return &u.Element })
}

// DeleteBackendUsage removes a backend usage from a product.
func (c *Client) DeleteBackendUsage(ctx context.Context, productID, usageID int64) error {
	return c.callPorta(ctx, "DeleteBackendUsage", fmt.Sprintf("product %d backend usage %d", productID, usageID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteBackendapiUsage(productID, usageID)
	})
}

// ListProductMetrics lists a product's metrics; 3scale includes the methods in this
// list (use ListProductMethods to tell them apart).
func (c *Client) ListProductMetrics(ctx context.Context, productID int64) ([]porta.MetricItem, error) {
	var out []porta.MetricItem
	err := c.callPorta(ctx, "ListProductMetrics", productObj(productID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListProductMetrics(productID)
		if err != nil {
			return err
		}
		for _, m := range l.Metrics {
			out = append(out, m.Element)
		}
		return nil
	})
	return out, err
}

// CreateProductMetric creates a product metric (friendly_name, unit, system_name,
// description).
func (c *Client) CreateProductMetric(ctx context.Context, productID int64, params porta.Params) (*porta.MetricItem, error) {
	var out *porta.MetricJSON
	err := c.callPorta(ctx, "CreateProductMetric", systemNameObj("product metric", params), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateProductMetric(productID, params)
		return err
	})
	return elem(out, err, metricItem)
}

// UpdateProductMetric updates a product metric (friendly_name, unit, description).
func (c *Client) UpdateProductMetric(ctx context.Context, productID, metricID int64, params porta.Params) (*porta.MetricItem, error) {
	var out *porta.MetricJSON
	err := c.callPorta(ctx, "UpdateProductMetric", fmt.Sprintf("product %d metric %d", productID, metricID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateProductMetric(productID, metricID, params)
		return err
	})
	return elem(out, err, metricItem)
}

// DeleteProductMetric deletes a product metric; 3scale refuses (ErrForbidden) for
// hits and for metrics used by the latest gateway configuration.
func (c *Client) DeleteProductMetric(ctx context.Context, productID, metricID int64) error {
	return c.callPorta(ctx, "DeleteProductMetric", fmt.Sprintf("product %d metric %d", productID, metricID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteProductMetric(productID, metricID)
	})
}

// ListProductMethods lists the methods under a product's hits metric.
func (c *Client) ListProductMethods(ctx context.Context, productID, hitsID int64) ([]porta.MethodItem, error) {
	var out []porta.MethodItem
	err := c.callPorta(ctx, "ListProductMethods", productObj(productID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListProductMethods(productID, hitsID)
		if err != nil {
			return err
		}
		for _, m := range l.Methods {
			out = append(out, m.Element)
		}
		return nil
	})
	return out, err
}

// CreateProductMethod creates a method under a product's hits metric.
func (c *Client) CreateProductMethod(ctx context.Context, productID, hitsID int64, params porta.Params) (*porta.MethodItem, error) {
	var out *porta.Method
	err := c.callPorta(ctx, "CreateProductMethod", systemNameObj("product method", params), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateProductMethod(productID, hitsID, params)
		return err
	})
	return elem(out, err, methodItem)
}

// UpdateProductMethod updates a product method (friendly_name, description).
func (c *Client) UpdateProductMethod(ctx context.Context, productID, hitsID, methodID int64, params porta.Params) (*porta.MethodItem, error) {
	var out *porta.Method
	err := c.callPorta(ctx, "UpdateProductMethod", fmt.Sprintf("product %d method %d", productID, methodID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateProductMethod(productID, hitsID, methodID, params)
		return err
	})
	return elem(out, err, methodItem)
}

// DeleteProductMethod deletes a product method.
func (c *Client) DeleteProductMethod(ctx context.Context, productID, hitsID, methodID int64) error {
	return c.callPorta(ctx, "DeleteProductMethod", fmt.Sprintf("product %d method %d", productID, methodID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteProductMethod(productID, hitsID, methodID)
	})
}

// ListMappingRules lists a product's mapping rules, ordered by position.
func (c *Client) ListMappingRules(ctx context.Context, productID int64) ([]porta.MappingRuleItem, error) {
	var out []porta.MappingRuleItem
	err := c.callPorta(ctx, "ListMappingRules", productObj(productID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListProductMappingRules(productID)
		if err != nil {
			return err
		}
		for _, r := range l.MappingRules {
			out = append(out, r.Element)
		}
		return nil
	})
	return out, err
}

// CreateMappingRule creates a product mapping rule (http_method, pattern, delta,
// metric_id, position, last). Rules take effect at the next deploy.
func (c *Client) CreateMappingRule(ctx context.Context, productID int64, params porta.Params) (*porta.MappingRuleItem, error) {
	var out *porta.MappingRuleJSON
	obj := fmt.Sprintf("product %d mapping rule %s %s", productID, params["http_method"], params["pattern"])
	err := c.callPorta(ctx, "CreateMappingRule", obj, func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateProductMappingRule(productID, params)
		return err
	})
	return elem(out, err, ruleItem)
}

// UpdateMappingRule updates a product mapping rule.
func (c *Client) UpdateMappingRule(ctx context.Context, productID, ruleID int64, params porta.Params) (*porta.MappingRuleItem, error) {
	var out *porta.MappingRuleJSON
	err := c.callPorta(ctx, "UpdateMappingRule", fmt.Sprintf("product %d mapping rule %d", productID, ruleID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateProductMappingRule(productID, ruleID, params)
		return err
	})
	return elem(out, err, ruleItem)
}

// DeleteMappingRule deletes a product mapping rule.
func (c *Client) DeleteMappingRule(ctx context.Context, productID, ruleID int64) error {
	return c.callPorta(ctx, "DeleteMappingRule", fmt.Sprintf("product %d mapping rule %d", productID, ruleID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteProductMappingRule(productID, ruleID)
	})
}
