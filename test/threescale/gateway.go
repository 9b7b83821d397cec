package threescalesim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Proxy config environments.
const (
	envSandbox    = "sandbox"
	envProduction = "production"
)

// proxyParams are the attributes ProxiesController permits (others are ignored).
var proxyParams = []string{
	"endpoint", "api_backend", "credentials_location", "auth_app_key", "auth_app_id", "auth_user_key",
	"error_auth_failed", "error_status_auth_failed", "error_headers_auth_failed",
	"error_auth_missing", "error_status_auth_missing", "error_headers_auth_missing",
	"error_no_match", "error_status_no_match", "error_headers_no_match",
	"error_limits_exceeded", "error_status_limits_exceeded", "error_headers_limits_exceeded",
	"secret_token", "hostname_rewrite", "oauth_login_url", "sandbox_endpoint", "api_test_path",
	"oidc_issuer_endpoint", "oidc_issuer_type", "jwt_claim_with_client_id", "jwt_claim_with_client_id_type",
}

func apicastPolicy() map[string]any {
	return map[string]any{"name": "apicast", "version": "builtin", "configuration": map[string]any{}, "enabled": true}
}

// proxyAttrs renders the proxy attributes with error_status_* as numbers.
func (s *Server) proxyAttrs(p *Proxy) obj {
	o := obj{}
	for k, v := range p.Attrs {
		if strings.HasPrefix(k, "error_status_") {
			n, _ := strconv.Atoi(v)
			o[k] = n
			continue
		}
		o[k] = v
	}
	o["api_backend"] = nil
	if us := s.serviceUsages(p.ServiceID); len(us) > 0 {
		o["api_backend"] = s.st.backends[us[0].BackendID].PrivateEndpoint
	}
	return o
}

func (s *Server) proxyJSON(p *Proxy) obj {
	o := s.proxyAttrs(p)
	base := fmt.Sprintf("/admin/api/services/%d", p.ServiceID)
	o["service_id"] = p.ServiceID
	o["lock_version"] = p.LockVersion
	o["deployment_option"] = s.st.services[p.ServiceID].DeploymentOption
	o["policies_config"] = p.Policies
	o["created_at"], o["updated_at"] = ts(p.CreatedAt), ts(p.UpdatedAt)
	o["links"] = []obj{link("mapping_rules", base+"/proxy/mapping_rules"), link("self", base+"/proxy"), link("service", base)}
	return o
}

func (s *Server) proxyFor(c *call) *Proxy {
	sid := pathID(c.r, "sid")
	if s.liveService(sid) == nil {
		c.notFound()
		return nil
	}
	return s.st.proxies[sid]
}

func (s *Server) proxyRead(c *call) {
	if p := s.proxyFor(c); p != nil {
		c.entity(http.StatusOK, "proxy", s.proxyJSON(p))
	}
}

func (s *Server) proxyUpdate(c *call) {
	p := s.proxyFor(c)
	if p == nil {
		return
	}
	errs := fieldErrors{}
	upd := map[string]string{}
	for _, k := range proxyParams {
		v, ok := c.p.str(k)
		if !ok || k == "api_backend" {
			continue
		}
		switch {
		case k == "credentials_location" && !slices.Contains([]string{"headers", "query", "authorization"}, v):
			errs.add(k, "is not included in the list")
		case k == "endpoint" || k == "sandbox_endpoint":
			norm, msg := normalizeEndpoint(v, true)
			if msg != "" {
				errs.add(k, msg)
			}
			v = norm
		case strings.HasPrefix(k, "error_status_"):
			if _, err := strconv.Atoi(v); err != nil {
				errs.add(k, "is not a number")
			}
		}
		upd[k] = v
	}
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	for k, v := range upd {
		p.Attrs[k] = v
	}
	p.LockVersion++
	p.UpdatedAt = c.now
	// A successful proxy update also deploys to staging.
	s.deploySandbox(p.ServiceID, c)
	c.entity(http.StatusOK, "proxy", s.proxyJSON(p))
}

func (s *Server) proxyDeploy(c *call) {
	p := s.proxyFor(c)
	if p == nil {
		return
	}
	s.deploySandbox(p.ServiceID, c)
	c.entity(http.StatusCreated, "proxy", s.proxyJSON(p))
}

// configContent builds the gateway configuration porta would generate: the
// product, its proxy, the policy chain and the mapping rules of the product and of
// its backends (prefixed by the usage path). It returns the content (without
// timestamps), the metric ids the rules use, and a digest of the content.
func (s *Server) configContent(sid int64) (map[string]any, []int64, string) {
	svc, p := s.st.services[sid], s.st.proxies[sid]
	var rules []any
	var metricIDs []int64
	addRules := func(kind string, oid int64, prefix string) {
		for _, r := range s.ownedRules(kind, oid) {
			m := s.st.metrics[r.MetricID]
			pattern := r.Pattern
			if prefix != "/" {
				pattern = prefix + r.Pattern
			}
			rules = append(rules, obj{
				"id": r.ID, "http_method": r.HTTPMethod, "pattern": pattern, "metric_id": r.MetricID,
				"metric_system_name": m.SystemName, "delta": r.Delta, "position": r.Position, "last": r.Last,
				"owner_type": map[string]string{OwnerService: "Proxy", OwnerBackend: "BackendApi"}[kind],
			})
			metricIDs = append(metricIDs, r.MetricID)
		}
	}
	addRules(OwnerService, sid, "/")
	var backends []any
	for _, u := range s.serviceUsages(sid) {
		b := s.st.backends[u.BackendID]
		backends = append(backends, obj{"backend_id": b.ID, "path": u.Path, "private_endpoint": b.PrivateEndpoint})
		addRules(OwnerBackend, b.ID, u.Path)
	}
	proxy := s.proxyAttrs(p)
	proxy["id"], proxy["service_id"], proxy["tenant_id"] = sid, sid, s.st.provider.ID
	proxy["policy_chain"] = p.Policies
	proxy["proxy_rules"] = rules
	var hosts []string
	for _, k := range []string{"endpoint", "sandbox_endpoint"} {
		if u, err := url.Parse(p.Attrs[k]); err == nil {
			hosts = append(hosts, u.Hostname())
		}
	}
	proxy["hosts"] = hosts
	if be, ok := proxy["api_backend"].(string); ok {
		u, _ := url.Parse(be)
		proxy["backend"] = obj{"endpoint": be, "host": u.Hostname()}
	}
	content := map[string]any{
		"id": sid, "account_id": s.st.provider.ID, "tenant_id": s.st.provider.ID,
		"name": svc.Name, "system_name": svc.SystemName, "state": svc.State,
		"backend_version": svc.BackendVersion, "deployment_option": svc.DeploymentOption,
		"description": svc.Description, "support_email": svc.SupportEmail,
		"backend_api_configs": backends, "proxy": proxy,
	}
	raw, _ := json.Marshal(content)
	sum := sha256.Sum256(raw)
	return content, metricIDs, hex.EncodeToString(sum[:])
}

// deploySandbox creates sandbox version N+1 when the generated content differs
// from the latest one; a product without backends gets no configuration.
func (s *Server) deploySandbox(sid int64, c *call) {
	if len(s.serviceUsages(sid)) == 0 {
		return
	}
	content, metricIDs, digest := s.configContent(sid)
	latest := s.latestConfig(sid, envSandbox)
	if latest != nil && latest.digest == digest {
		return
	}
	version := 1
	if latest != nil {
		version = latest.Version + 1
	}
	svc := s.st.services[sid]
	content["created_at"], content["updated_at"] = ts(svc.CreatedAt), ts(c.now)
	s.st.configs = append(s.st.configs, &ProxyConfig{
		ID: s.st.id(), ServiceID: sid, Environment: envSandbox, Version: version,
		Content: content, digest: digest, metricIDs: metricIDs,
	})
}

func (s *Server) latestConfig(sid int64, env string) *ProxyConfig {
	var latest *ProxyConfig
	for _, pc := range s.st.configs {
		if pc.ServiceID == sid && pc.Environment == env && (latest == nil || pc.Version > latest.Version) {
			latest = pc
		}
	}
	return latest
}

func configJSON(pc *ProxyConfig) obj {
	return obj{"id": pc.ID, "version": pc.Version, "environment": pc.Environment, "content": pc.Content}
}

// parseEnv maps the {env} wildcard ("staging" is an alias of sandbox).
func parseEnv(v string) (string, bool) {
	switch v {
	case envSandbox, "staging":
		return envSandbox, true
	case envProduction:
		return envProduction, true
	}
	return "", false
}

// configScope resolves product and environment, or writes the error.
func (s *Server) configScope(c *call) (int64, string, bool) {
	sid := pathID(c.r, "sid")
	if s.liveService(sid) == nil {
		c.notFound()
		return 0, "", false
	}
	env, ok := parseEnv(c.r.PathValue("env"))
	if !ok {
		c.errorMessage(http.StatusBadRequest, "invalid environment")
		return 0, "", false
	}
	return sid, env, true
}

func (s *Server) configsList(c *call) {
	sid, env, ok := s.configScope(c)
	if !ok {
		return
	}
	var items []obj
	for _, pc := range s.st.configs {
		if pc.ServiceID == sid && pc.Environment == env {
			items = append(items, configJSON(pc))
		}
	}
	c.collection("proxy_configs", "proxy_config", items, nil)
}

func (s *Server) configsLatest(c *call) {
	sid, env, ok := s.configScope(c)
	if !ok {
		return
	}
	pc := s.latestConfig(sid, env)
	if pc == nil {
		c.notFound()
		return
	}
	c.entity(http.StatusOK, "proxy_config", configJSON(pc))
}

func (s *Server) configVersion(c *call) *ProxyConfig {
	sid, env, ok := s.configScope(c)
	if !ok {
		return nil
	}
	v, _ := strconv.Atoi(c.r.PathValue("version"))
	for _, pc := range s.st.configs {
		if pc.ServiceID == sid && pc.Environment == env && pc.Version == v {
			return pc
		}
	}
	c.notFound()
	return nil
}

func (s *Server) configsRead(c *call) {
	if pc := s.configVersion(c); pc != nil {
		c.entity(http.StatusOK, "proxy_config", configJSON(pc))
	}
}

// configsPromote clones a version into another environment keeping its number;
// the same version cannot be promoted twice.
func (s *Server) configsPromote(c *call) {
	pc := s.configVersion(c)
	if pc == nil {
		return
	}
	toRaw, ok := c.p.str("to")
	if !ok {
		c.missing("to")
		return
	}
	to, ok := parseEnv(toRaw)
	if !ok {
		c.invalid(fieldErrors{"environment": {"is not included in the list"}})
		return
	}
	for _, o := range s.st.configs {
		if o.ServiceID == pc.ServiceID && o.Environment == to && o.Version == pc.Version {
			c.invalid(fieldErrors{"version": {"has already been taken"}})
			return
		}
	}
	clone := *pc
	clone.ID, clone.Environment = s.st.id(), to
	s.st.configs = append(s.st.configs, &clone)
	c.created("proxy_config", configJSON(&clone),
		fmt.Sprintf("/admin/api/services/%d/proxy/configs/%s/%d", pc.ServiceID, to, pc.Version))
}

// Policy chain.

func (s *Server) policiesRead(c *call) {
	if p := s.proxyFor(c); p != nil {
		writeJSON(c.w, http.StatusOK, obj{"policies_config": p.Policies})
	}
}

func (s *Server) policiesUpdate(c *call) {
	p := s.proxyFor(c)
	if p == nil {
		return
	}
	raw, ok := c.p.m["policies_config"]
	if !ok {
		c.missing("policies_config")
		return
	}
	// A form sends the chain as a JSON string; a JSON body as an array.
	if str, isStr := raw.(string); isStr {
		if err := json.Unmarshal([]byte(str), &raw); err != nil {
			c.invalid(fieldErrors{"policies_config": {"has invalid format"}})
			return
		}
	}
	list, ok := raw.([]any)
	if !ok {
		c.invalid(fieldErrors{"policies_config": {"has invalid format"}})
		return
	}
	chain := make([]map[string]any, 0, len(list)+1)
	var perPolicy []any
	hasApicast := false
	for _, it := range list {
		pol, ok := it.(map[string]any)
		if !ok {
			c.invalid(fieldErrors{"policies_config": {"has invalid format"}})
			return
		}
		errs := fieldErrors{}
		for _, k := range []string{"name", "version"} {
			if v, _ := pol[k].(string); strings.TrimSpace(v) == "" {
				errs.add(k, "can't be blank")
			}
		}
		if _, ok := pol["configuration"].(map[string]any); !ok {
			errs.add("configuration", "can't be blank")
		}
		if len(errs) > 0 {
			perPolicy = append(perPolicy, obj{"name": pol["name"], "errors": errs})
		}
		hasApicast = hasApicast || pol["name"] == "apicast"
		entry := map[string]any{"name": pol["name"], "version": pol["version"], "configuration": pol["configuration"]}
		if en, ok := pol["enabled"]; ok {
			entry["enabled"] = en
		}
		chain = append(chain, entry)
	}
	if len(perPolicy) > 0 {
		writeJSON(c.w, http.StatusUnprocessableEntity, obj{"policies_config": perPolicy})
		return
	}
	if !hasApicast {
		chain = append(chain, apicastPolicy())
	}
	p.Policies = chain
	p.UpdatedAt = c.now
	s.deploySandbox(p.ServiceID, c)
	writeJSON(c.w, http.StatusOK, obj{"policies_config": chain})
}
