package threescalesim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

func (s *Server) liveService(id int64) *Service {
	if svc := s.st.services[id]; svc != nil && svc.DeletedAt.IsZero() {
		return svc
	}
	return nil
}

func (s *Server) liveBackend(id int64) *Backend {
	if b := s.st.backends[id]; b != nil && b.DeletedAt.IsZero() {
		return b
	}
	return nil
}

func (s *Server) serviceJSON(svc *Service) obj {
	base := fmt.Sprintf("/admin/api/services/%d", svc.ID)
	return obj{
		"id": svc.ID, "name": svc.Name, "state": svc.State, "system_name": svc.SystemName,
		"backend_version": svc.BackendVersion, "deployment_option": svc.DeploymentOption,
		"support_email": svc.SupportEmail, "description": svc.Description,
		"intentions_required": false, "buyers_manage_apps": true, "buyers_manage_keys": true,
		"referrer_filters_required": false, "custom_keys_enabled": true,
		"buyer_key_regenerate_enabled": true, "mandatory_app_key": true,
		"buyer_can_select_plan": false, "buyer_plan_change_permission": "request",
		"annotations": annotationsJSON(svc.Annotations),
		"created_at":  ts(svc.CreatedAt), "updated_at": ts(svc.UpdatedAt),
		"links": []obj{
			link("metrics", base+"/metrics"), link("self", base),
			link("service_plans", base+"/service_plans"), link("application_plans", base+"/application_plans"),
		},
	}
}

func annotationsJSON(a map[string]string) map[string]string {
	if a == nil {
		return map[string]string{}
	}
	return a
}

// mergeAnnotations applies annotations[k]=v; an empty value removes the key.
func mergeAnnotations(cur map[string]string, p params) map[string]string {
	upd := p.strMap("annotations")
	if upd == nil {
		return cur
	}
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range upd {
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func (s *Server) servicesList(c *call) {
	var live []obj
	for _, svc := range sorted(s.st.services) {
		if svc.DeletedAt.IsZero() {
			live = append(live, s.serviceJSON(svc))
		}
	}
	page, meta := paginate(c, live)
	c.collection("services", "service", page, meta)
}

func (s *Server) systemNameTaken(kind string, name string) bool {
	switch kind {
	case "service":
		for _, svc := range s.st.services {
			if svc.SystemName == name {
				return true
			}
		}
	case "backend":
		for _, b := range s.st.backends {
			if b.SystemName == name {
				return true
			}
		}
	}
	return false
}

func validateServiceAttrs(errs fieldErrors, p params) {
	if v, ok := p.str("backend_version"); ok && !slices.Contains([]string{"1", "2", "oidc"}, v) {
		errs.add("backend_version", "is not included in the list")
	}
	if v, ok := p.str("deployment_option"); ok &&
		!slices.Contains([]string{"hosted", "self_managed", "service_mesh_istio"}, v) && !strings.HasPrefix(v, "plugin_") {
		errs.add("deployment_option", "is not included in the list")
	}
}

func (s *Server) servicesCreate(c *call) {
	if !c.p.hasAny() {
		c.missing("service")
		return
	}
	name := c.p.def("name", "")
	sys := c.p.def("system_name", generateSystemName(name))
	errs := fieldErrors{}
	if strings.TrimSpace(name) == "" {
		errs.add("name", "can't be blank")
	}
	validateSystemName(errs, sys, s.systemNameTaken("service", sys))
	validateServiceAttrs(errs, c.p)
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	svc := s.createService(c.now, name, sys, c.p)
	c.created("service", s.serviceJSON(svc), fmt.Sprintf("/admin/api/services/%d", svc.ID))
}

// createService creates a product with porta's side effects: the hits metric, the
// "Default" service plan, the GET / mapping rule and a proxy with defaults.
func (s *Server) createService(now time.Time, name, sys string, p params) *Service {
	st := s.st
	svc := &Service{
		ID: st.id(), Name: name, SystemName: sys, State: "incomplete",
		Description:      p.def("description", ""),
		BackendVersion:   p.def("backend_version", "1"),
		DeploymentOption: p.def("deployment_option", "hosted"),
		SupportEmail:     p.def("support_email", ""),
		Annotations:      mergeAnnotations(nil, p),
		CreatedAt:        now, UpdatedAt: now,
	}
	if p.def("state_event", "") == "publish" {
		svc.State = "published"
	}
	st.services[svc.ID] = svc
	hits := &Metric{ID: st.id(), OwnerKind: OwnerService, OwnerID: svc.ID, SystemName: "hits",
		FriendlyName: "Hits", Unit: "hit", Description: "Number of API hits", CreatedAt: now, UpdatedAt: now}
	st.metrics[hits.ID] = hits
	plan := &Plan{ID: st.id(), Kind: PlanService, ServiceID: svc.ID, Name: "Default", SystemName: "default",
		State: "published", Default: true, CreatedAt: now, UpdatedAt: now}
	st.plans[plan.ID] = plan
	svc.DefaultServicePlanID = plan.ID
	rule := &MappingRule{ID: st.id(), OwnerKind: OwnerService, OwnerID: svc.ID, MetricID: hits.ID,
		HTTPMethod: http.MethodGet, Pattern: "/", Delta: 1, Position: 1, CreatedAt: now, UpdatedAt: now}
	st.rules[rule.ID] = rule
	host := strings.ReplaceAll(sys, "_", "-") + "-" + s.cfg.Tenant
	st.proxies[svc.ID] = &Proxy{
		ServiceID: svc.ID, CreatedAt: now, UpdatedAt: now,
		Policies: []map[string]any{apicastPolicy()},
		Attrs: map[string]string{
			"endpoint":                      "https://" + host + "-apicast-production." + s.cfg.Domain + ":443",
			"sandbox_endpoint":              "https://" + host + "-apicast-staging." + s.cfg.Domain + ":443",
			"credentials_location":          "query",
			"auth_app_key":                  "app_key",
			"auth_app_id":                   "app_id",
			"auth_user_key":                 "user_key",
			"error_auth_failed":             "Authentication failed",
			"error_status_auth_failed":      "403",
			"error_headers_auth_failed":     "text/plain; charset=us-ascii",
			"error_auth_missing":            "Authentication parameters missing",
			"error_status_auth_missing":     "403",
			"error_headers_auth_missing":    "text/plain; charset=us-ascii",
			"error_no_match":                "No Mapping Rule matched",
			"error_status_no_match":         "404",
			"error_headers_no_match":        "text/plain; charset=us-ascii",
			"error_limits_exceeded":         "Usage limit exceeded",
			"error_status_limits_exceeded":  "429",
			"error_headers_limits_exceeded": "text/plain; charset=us-ascii",
			"secret_token":                  "Shared_secret_sent_from_proxy_to_API_backend_" + randomHex(8),
			"api_test_path":                 "/",
		},
	}
	return svc
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) servicesRead(c *call) {
	svc := s.liveService(pathID(c.r, "id"))
	if svc == nil {
		c.notFound()
		return
	}
	c.entity(http.StatusOK, "service", s.serviceJSON(svc))
}

func (s *Server) servicesUpdate(c *call) {
	svc := s.liveService(pathID(c.r, "id"))
	if svc == nil {
		c.notFound()
		return
	}
	errs := fieldErrors{}
	if v, ok := c.p.str("name"); ok && strings.TrimSpace(v) == "" {
		errs.add("name", "can't be blank")
	}
	validateServiceAttrs(errs, c.p)
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	svc.Name = c.p.def("name", svc.Name)
	svc.Description = c.p.def("description", svc.Description)
	svc.BackendVersion = c.p.def("backend_version", svc.BackendVersion)
	svc.DeploymentOption = c.p.def("deployment_option", svc.DeploymentOption)
	svc.SupportEmail = c.p.def("support_email", svc.SupportEmail)
	svc.Annotations = mergeAnnotations(svc.Annotations, c.p)
	svc.UpdatedAt = c.now
	c.entity(http.StatusOK, "service", s.serviceJSON(svc))
}

func (s *Server) servicesDelete(c *call) {
	svc := s.liveService(pathID(c.r, "id"))
	if svc == nil {
		c.notFound()
		return
	}
	live := 0
	for _, o := range s.st.services {
		if o.DeletedAt.IsZero() {
			live++
		}
	}
	if live == 1 {
		// porta refuses to delete the last product with a state-machine error.
		writeJSON(c.w, http.StatusUnprocessableEntity, obj{"error": obj{
			"from": svc.State, "event": "mark_as_deleted",
			"error": `State cannot transition via "mark_as_deleted"`, "object": s.serviceJSON(svc),
		}})
		return
	}
	svc.State = "deleted"
	svc.DeletedAt = c.now
	c.deleted()
}

// Backends.

func (s *Server) backendJSON(b *Backend) obj {
	base := fmt.Sprintf("/admin/api/backend_apis/%d", b.ID)
	return obj{
		"id": b.ID, "name": b.Name, "system_name": b.SystemName, "description": b.Description,
		"private_endpoint": b.PrivateEndpoint, "account_id": s.st.provider.ID,
		"annotations": annotationsJSON(b.Annotations),
		"created_at":  ts(b.CreatedAt), "updated_at": ts(b.UpdatedAt),
		"links": []obj{link("metrics", base+"/metrics"), link("mapping_rules", base+"/mapping_rules")},
	}
}

func (s *Server) backendsList(c *call) {
	var live []obj
	for _, b := range sorted(s.st.backends) {
		if b.DeletedAt.IsZero() {
			live = append(live, s.backendJSON(b))
		}
	}
	page, meta := paginate(c, live)
	c.collection("backend_apis", "backend_api", page, meta)
}

// normalizeEndpoint validates a gateway or backend URL and adds the explicit port
// porta's Proxy::PortGenerator adds ("https://x" -> "https://x:443").
func normalizeEndpoint(raw string, allowLocal bool) (string, string) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "", "Invalid URL format"
	}
	ports := map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443"}
	port, ok := ports[u.Scheme]
	if !ok {
		return "", "Invalid URL format"
	}
	if !allowLocal && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1") {
		return "", "is invalid"
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u.String(), ""
}

func (s *Server) validateBackend(errs fieldErrors, p params, create bool) string {
	name, ok := p.str("name")
	if (create || ok) && strings.TrimSpace(name) == "" {
		errs.add("name", "can't be blank")
	}
	ep, ok := p.str("private_endpoint")
	switch {
	case (create || ok) && strings.TrimSpace(ep) == "":
		errs.add("private_endpoint", "can't be blank")
	case ok:
		norm, msg := normalizeEndpoint(ep, false)
		if msg != "" {
			errs.add("private_endpoint", msg)
		}
		return norm
	}
	return ""
}

func (s *Server) backendsCreate(c *call) {
	if !c.p.hasAny() {
		c.missing("backend_api")
		return
	}
	errs := fieldErrors{}
	ep := s.validateBackend(errs, c.p, true)
	name := c.p.def("name", "")
	sys := c.p.def("system_name", generateSystemName(name))
	validateSystemName(errs, sys, s.systemNameTaken("backend", sys))
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	st := s.st
	b := &Backend{ID: st.id(), Name: name, SystemName: sys, Description: c.p.def("description", ""),
		PrivateEndpoint: ep, Annotations: mergeAnnotations(nil, c.p), CreatedAt: c.now, UpdatedAt: c.now}
	st.backends[b.ID] = b
	hits := &Metric{ID: st.id(), OwnerKind: OwnerBackend, OwnerID: b.ID, SystemName: fmt.Sprintf("hits.%d", b.ID),
		FriendlyName: "Hits", Unit: "hit", Description: "Number of API hits", CreatedAt: c.now, UpdatedAt: c.now}
	st.metrics[hits.ID] = hits
	c.created("backend_api", s.backendJSON(b), fmt.Sprintf("/admin/api/backend_apis/%d", b.ID))
}

func (s *Server) backendsRead(c *call) {
	b := s.liveBackend(pathID(c.r, "id"))
	if b == nil {
		c.notFound()
		return
	}
	c.entity(http.StatusOK, "backend_api", s.backendJSON(b))
}

func (s *Server) backendsUpdate(c *call) {
	b := s.liveBackend(pathID(c.r, "id"))
	if b == nil {
		c.notFound()
		return
	}
	errs := fieldErrors{}
	ep := s.validateBackend(errs, c.p, false)
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	b.Name = c.p.def("name", b.Name)
	b.Description = c.p.def("description", b.Description)
	if ep != "" {
		b.PrivateEndpoint = ep
	}
	b.Annotations = mergeAnnotations(b.Annotations, c.p)
	b.UpdatedAt = c.now
	c.entity(http.StatusOK, "backend_api", s.backendJSON(b))
}

func (s *Server) backendsDelete(c *call) {
	b := s.liveBackend(pathID(c.r, "id"))
	if b == nil {
		c.notFound()
		return
	}
	for _, u := range s.st.usages {
		if u.BackendID == b.ID && s.liveService(u.ServiceID) != nil {
			c.fieldErrors(http.StatusForbidden, fieldErrors{"base": {"cannot be deleted because it is used by at least one Product"}})
			return
		}
	}
	b.DeletedAt = c.now
	c.deleted()
}

// Backend usages.

func usageJSON(u *BackendUsage) obj {
	return obj{
		"id": u.ID, "path": u.Path, "service_id": u.ServiceID, "backend_id": u.BackendID,
		"links": []obj{
			link("service", fmt.Sprintf("/admin/api/services/%d", u.ServiceID)),
			link("backend_api", fmt.Sprintf("/admin/api/backend_apis/%d", u.BackendID)),
		},
	}
}

func (s *Server) serviceUsages(sid int64) []*BackendUsage {
	var out []*BackendUsage
	for _, u := range sorted(s.st.usages) {
		if u.ServiceID == sid && s.liveBackend(u.BackendID) != nil {
			out = append(out, u)
		}
	}
	return out
}

func (s *Server) usagesList(c *call) {
	if s.liveService(pathID(c.r, "sid")) == nil {
		c.notFound()
		return
	}
	page, _ := paginate(c, s.serviceUsages(pathID(c.r, "sid")))
	out := make([]obj, 0, len(page))
	for _, u := range page {
		out = append(out, obj{"backend_usage": usageJSON(u)})
	}
	// Backend usages are a bare JSON array, unlike every other collection.
	writeJSON(c.w, http.StatusOK, out)
}

// normalizeUsagePath is porta's path normalisation: "foo/bar" -> "/foo/bar",
// "" -> "/"; it reports false for paths that are not "/"-separated segments.
func normalizeUsagePath(p string) (string, bool) {
	p = "/" + strings.Trim(strings.TrimSpace(p), "/")
	if strings.Contains(p, "//") || strings.ContainsAny(p, " ?#") {
		return "", false
	}
	return p, true
}

func (s *Server) validateUsagePath(errs fieldErrors, sid, self int64, raw string) string {
	path, ok := normalizeUsagePath(raw)
	if !ok {
		errs.add("path", `must be a path separated by "/". E.g. "" or "my/path"`)
		return ""
	}
	for _, u := range s.serviceUsages(sid) {
		if u.ID != self && u.Path == path {
			errs.add("path", "This path is already taken. Specify a different path.")
		}
	}
	return path
}

func (s *Server) usagesCreate(c *call) {
	svc := s.liveService(pathID(c.r, "sid"))
	if svc == nil {
		c.notFound()
		return
	}
	bidStr, ok := c.p.str("backend_api_id")
	if !ok {
		c.missing("backend_api_id")
		return
	}
	var bid int64
	_, _ = fmt.Sscan(bidStr, &bid)
	if s.liveBackend(bid) == nil {
		c.notFound()
		return
	}
	errs := fieldErrors{}
	for _, u := range s.serviceUsages(svc.ID) {
		if u.BackendID == bid {
			errs.add("backend_api_id", "has already been taken")
		}
	}
	path := s.validateUsagePath(errs, svc.ID, 0, c.p.def("path", ""))
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	u := &BackendUsage{ID: s.st.id(), ServiceID: svc.ID, BackendID: bid, Path: path}
	s.st.usages[u.ID] = u
	c.created("backend_usage", usageJSON(u), fmt.Sprintf("/admin/api/services/%d/backend_usages/%d", svc.ID, u.ID))
}

func (s *Server) usageFor(c *call) *BackendUsage {
	sid := pathID(c.r, "sid")
	u := s.st.usages[pathID(c.r, "id")]
	if s.liveService(sid) == nil || u == nil || u.ServiceID != sid {
		return nil
	}
	return u
}

func (s *Server) usagesRead(c *call) {
	u := s.usageFor(c)
	if u == nil {
		c.notFound()
		return
	}
	c.entity(http.StatusOK, "backend_usage", usageJSON(u))
}

func (s *Server) usagesUpdate(c *call) {
	u := s.usageFor(c)
	if u == nil {
		c.notFound()
		return
	}
	if raw, ok := c.p.str("path"); ok {
		errs := fieldErrors{}
		path := s.validateUsagePath(errs, u.ServiceID, u.ID, raw)
		if len(errs) > 0 {
			c.invalid(errs)
			return
		}
		u.Path = path
	}
	c.entity(http.StatusOK, "backend_usage", usageJSON(u))
}

func (s *Server) usagesDelete(c *call) {
	u := s.usageFor(c)
	if u == nil {
		c.notFound()
		return
	}
	// Deleting a usage removes that backend's limits on the product's plans.
	for lid, l := range s.st.limits {
		m, p := s.st.metrics[l.MetricID], s.st.plans[l.PlanID]
		if m != nil && p != nil && m.OwnerKind == OwnerBackend && m.OwnerID == u.BackendID && p.ServiceID == u.ServiceID {
			delete(s.st.limits, lid)
		}
	}
	delete(s.st.usages, u.ID)
	c.deleted()
}
