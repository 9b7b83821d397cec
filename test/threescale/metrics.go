package threescalesim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ownerExists reports whether the product or backend of an {owner} wildcard is live.
func (s *Server) ownerExists(kind string, id int64) bool {
	if kind == OwnerService {
		return s.liveService(id) != nil
	}
	return s.liveBackend(id) != nil
}

func ownerPath(kind string, id int64) string {
	if kind == OwnerService {
		return fmt.Sprintf("/admin/api/services/%d", id)
	}
	return fmt.Sprintf("/admin/api/backend_apis/%d", id)
}

func isHits(m *Metric) bool {
	return m.SystemName == "hits" || m.SystemName == fmt.Sprintf("hits.%d", m.OwnerID)
}

func (s *Server) metricJSON(m *Metric) obj {
	o := obj{
		"id": m.ID, "system_name": m.SystemName, "friendly_name": m.FriendlyName,
		"description": m.Description, "created_at": ts(m.CreatedAt), "updated_at": ts(m.UpdatedAt),
	}
	if m.OwnerKind == OwnerService {
		o["name"] = m.SystemName
	}
	if m.ParentID != 0 {
		o["parent_id"] = m.ParentID
		o["links"] = []obj{link("parent", fmt.Sprintf("%s/metrics/%d", ownerPath(m.OwnerKind, m.OwnerID), m.ParentID))}
	} else {
		o["unit"] = m.Unit
		o["links"] = []obj{link("self", fmt.Sprintf("%s/metrics/%d", ownerPath(m.OwnerKind, m.OwnerID), m.ID))}
	}
	return o
}

// metricScope resolves the owner and, for methods, the parent metric of a request;
// it writes 404 and returns false when either is missing.
func (s *Server) metricScope(c *call, kind string, methods bool) (int64, *Metric, bool) {
	oid := pathID(c.r, "owner")
	if !s.ownerExists(kind, oid) {
		c.notFound()
		return 0, nil, false
	}
	if !methods {
		return oid, nil, true
	}
	parent := s.st.metrics[pathID(c.r, "metric")]
	if parent == nil || parent.OwnerKind != kind || parent.OwnerID != oid || parent.ParentID != 0 {
		c.notFound()
		return 0, nil, false
	}
	return oid, parent, true
}

func (s *Server) ownedMetrics(kind string, oid int64) []*Metric {
	var out []*Metric
	for _, m := range sorted(s.st.metrics) {
		if m.OwnerKind == kind && m.OwnerID == oid {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) metricsList(kind string, methods bool) func(*call) {
	return func(c *call) {
		oid, parent, ok := s.metricScope(c, kind, methods)
		if !ok {
			return
		}
		var items []obj
		for _, m := range s.ownedMetrics(kind, oid) {
			// Product metric lists include methods; method lists only children.
			if (methods && m.ParentID == parent.ID) || (!methods && (kind == OwnerService || m.ParentID == 0)) {
				items = append(items, s.metricJSON(m))
			}
		}
		var meta *pageMeta
		if kind == OwnerBackend {
			items, meta = paginate(c, items)
		}
		if methods {
			c.collection("methods", "method", items, meta)
			return
		}
		c.collection("metrics", "metric", items, meta)
	}
}

func (s *Server) metricsCreate(kind string, methods bool) func(*call) {
	return func(c *call) {
		oid, parent, ok := s.metricScope(c, kind, methods)
		if !ok {
			return
		}
		if !c.p.hasAny() {
			c.missing("metric")
			return
		}
		friendly := c.p.def("friendly_name", "")
		base := c.p.def("system_name", c.p.def("name", generateSystemName(friendly)))
		sys := base
		if kind == OwnerBackend {
			sys = fmt.Sprintf("%s.%d", base, oid)
		}
		errs := fieldErrors{}
		if strings.TrimSpace(friendly) == "" {
			errs.add("friendly_name", "can't be blank")
		}
		unit := c.p.def("unit", "")
		if methods {
			unit = parent.Unit
			if !isHits(parent) {
				errs.add("parent_id", "You can only create methods under 'hits'")
			}
		} else if strings.TrimSpace(unit) == "" {
			errs.add("unit", "can't be blank")
		}
		sysTaken, friendlyTaken := false, false
		for _, m := range s.ownedMetrics(kind, oid) {
			sysTaken = sysTaken || m.SystemName == sys
			friendlyTaken = friendlyTaken || (friendly != "" && m.FriendlyName == friendly)
		}
		validateSystemName(errs, base, sysTaken)
		if friendlyTaken {
			errs.add("friendly_name", "has already been taken")
		}
		if len(errs) > 0 {
			c.invalid(errs)
			return
		}
		m := &Metric{ID: s.st.id(), OwnerKind: kind, OwnerID: oid, SystemName: sys, FriendlyName: friendly,
			Unit: unit, Description: c.p.def("description", ""), CreatedAt: c.now, UpdatedAt: c.now}
		root, loc := "metric", fmt.Sprintf("%s/metrics/%d", ownerPath(kind, oid), m.ID)
		if methods {
			m.ParentID = parent.ID
			root, loc = "method", fmt.Sprintf("%s/metrics/%d/methods/%d", ownerPath(kind, oid), parent.ID, m.ID)
		}
		s.st.metrics[m.ID] = m
		c.created(root, s.metricJSON(m), loc)
	}
}

// metricFor resolves the {id} metric or method within its scope, or writes 404.
func (s *Server) metricFor(c *call, kind string, methods bool) *Metric {
	oid, parent, ok := s.metricScope(c, kind, methods)
	if !ok {
		return nil
	}
	m := s.st.metrics[pathID(c.r, "id")]
	if m == nil || m.OwnerKind != kind || m.OwnerID != oid || (methods && m.ParentID != parent.ID) || (!methods && kind == OwnerBackend && m.ParentID != 0) {
		c.notFound()
		return nil
	}
	return m
}

func metricRoot(m *Metric) string {
	if m.ParentID != 0 {
		return "method"
	}
	return "metric"
}

func (s *Server) metricsRead(kind string, methods bool) func(*call) {
	return func(c *call) {
		if m := s.metricFor(c, kind, methods); m != nil {
			c.entity(http.StatusOK, metricRoot(m), s.metricJSON(m))
		}
	}
}

func (s *Server) metricsUpdate(kind string, methods bool) func(*call) {
	return func(c *call) {
		m := s.metricFor(c, kind, methods)
		if m == nil {
			return
		}
		errs := fieldErrors{}
		friendly, ok := c.p.str("friendly_name")
		if ok && strings.TrimSpace(friendly) == "" {
			errs.add("friendly_name", "can't be blank")
		}
		for _, o := range s.ownedMetrics(kind, m.OwnerID) {
			if ok && o.ID != m.ID && o.FriendlyName == friendly {
				errs.add("friendly_name", "has already been taken")
			}
		}
		if len(errs) > 0 {
			c.invalid(errs)
			return
		}
		m.FriendlyName = c.p.def("friendly_name", m.FriendlyName)
		m.Description = c.p.def("description", m.Description)
		if m.ParentID == 0 {
			m.Unit = c.p.def("unit", m.Unit)
		}
		m.UpdatedAt = c.now
		c.entity(http.StatusOK, metricRoot(m), s.metricJSON(m))
	}
}

func (s *Server) metricsDelete(kind string, methods bool) func(*call) {
	return func(c *call) {
		m := s.metricFor(c, kind, methods)
		if m == nil {
			return
		}
		noun := "Metric"
		if m.ParentID != 0 {
			noun = "Method"
		}
		switch {
		case isHits(m):
			c.fieldErrors(http.StatusForbidden, fieldErrors{"base": {"The Hits metric cannot be deleted"}})
		case s.usedByLatestConfig(m.ID):
			c.fieldErrors(http.StatusForbidden, fieldErrors{"base": {noun + " is used by the latest gateway configuration and cannot be deleted"}})
		default:
			s.removeMetric(m.ID)
			c.deleted()
		}
	}
}

// usedByLatestConfig reports whether a mapping rule of any product's latest
// sandbox or production configuration references the metric.
func (s *Server) usedByLatestConfig(metricID int64) bool {
	for sid := range s.st.services {
		for _, env := range []string{envSandbox, envProduction} {
			if pc := s.latestConfig(sid, env); pc != nil && slices.Contains(pc.metricIDs, metricID) {
				return true
			}
		}
	}
	return false
}

// Mapping rules.

var ruleMethods = []string{"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"}

func ruleJSON(r *MappingRule) obj {
	return obj{
		"id": r.ID, "metric_id": r.MetricID, "pattern": r.Pattern, "http_method": r.HTTPMethod,
		"delta": r.Delta, "position": r.Position, "last": r.Last,
		"created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt),
		"links": []obj{link("metric", fmt.Sprintf("/metrics/%d", r.MetricID))},
	}
}

func (s *Server) ownedRules(kind string, oid int64) []*MappingRule {
	var out []*MappingRule
	for _, r := range sorted(s.st.rules) {
		if r.OwnerKind == kind && r.OwnerID == oid {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *MappingRule) int { return a.Position - b.Position })
	return out
}

func (s *Server) rulesList(kind string) func(*call) {
	return func(c *call) {
		oid := pathID(c.r, "owner")
		if !s.ownerExists(kind, oid) {
			c.notFound()
			return
		}
		var items []obj
		for _, r := range s.ownedRules(kind, oid) {
			items = append(items, ruleJSON(r))
		}
		var meta *pageMeta
		if kind == OwnerBackend {
			items, meta = paginate(c, items)
		}
		c.collection("mapping_rules", "mapping_rule", items, meta)
	}
}

// applyRule validates and applies mapping-rule attributes; on create every
// required attribute must be present. It returns false after writing an error.
func (s *Server) applyRule(c *call, r *MappingRule, create bool) bool {
	errs := fieldErrors{}
	if v, ok := c.p.str("http_method"); ok || create {
		if !slices.Contains(ruleMethods, strings.ToUpper(v)) {
			errs.add("http_method", "is not included in the list")
		}
		r.HTTPMethod = strings.ToUpper(v)
	}
	if v, ok := c.p.str("pattern"); ok || create {
		if !strings.HasPrefix(v, "/") {
			errs.add("pattern", "must start with '/'")
		}
		r.Pattern = v
	}
	if v, ok := c.p.str("delta"); ok || create {
		d, err := strconv.Atoi(v)
		if err != nil || d <= 0 {
			errs.add("delta", "must be greater than 0")
		}
		r.Delta = d
	}
	if v, ok := c.p.str("metric_id"); ok || create {
		mid, _ := strconv.ParseInt(v, 10, 64)
		m := s.st.metrics[mid]
		if m == nil || m.OwnerKind != r.OwnerKind || m.OwnerID != r.OwnerID {
			c.notFound()
			return false
		}
		r.MetricID = mid
	}
	if n, ok, err := c.p.intParam("position"); ok && err == nil {
		r.Position = n
	}
	r.Last = c.p.boolean("last", r.Last)
	if len(errs) > 0 {
		c.invalid(errs)
		return false
	}
	return true
}

func (s *Server) rulesCreate(kind string) func(*call) {
	return func(c *call) {
		oid := pathID(c.r, "owner")
		if !s.ownerExists(kind, oid) {
			c.notFound()
			return
		}
		if !c.p.hasAny() {
			c.missing("mapping_rule")
			return
		}
		r := &MappingRule{OwnerKind: kind, OwnerID: oid, CreatedAt: c.now, UpdatedAt: c.now, Position: 1}
		for _, o := range s.ownedRules(kind, oid) {
			r.Position = max(r.Position, o.Position+1)
		}
		if !s.applyRule(c, r, true) {
			return
		}
		r.ID = s.st.id()
		s.st.rules[r.ID] = r
		loc := fmt.Sprintf("%s/mapping_rules/%d", ownerPath(kind, oid), r.ID)
		if kind == OwnerService {
			loc = fmt.Sprintf("%s/proxy/mapping_rules/%d", ownerPath(kind, oid), r.ID)
		}
		c.created("mapping_rule", ruleJSON(r), loc)
	}
}

func (s *Server) ruleFor(c *call, kind string) *MappingRule {
	oid := pathID(c.r, "owner")
	r := s.st.rules[pathID(c.r, "id")]
	if !s.ownerExists(kind, oid) || r == nil || r.OwnerKind != kind || r.OwnerID != oid {
		c.notFound()
		return nil
	}
	return r
}

func (s *Server) rulesRead(kind string) func(*call) {
	return func(c *call) {
		if r := s.ruleFor(c, kind); r != nil {
			c.entity(http.StatusOK, "mapping_rule", ruleJSON(r))
		}
	}
}

func (s *Server) rulesUpdate(kind string) func(*call) {
	return func(c *call) {
		r := s.ruleFor(c, kind)
		if r == nil {
			return
		}
		upd := *r
		if !s.applyRule(c, &upd, false) {
			return
		}
		upd.UpdatedAt = c.now
		*r = upd
		c.entity(http.StatusOK, "mapping_rule", ruleJSON(r))
	}
}

func (s *Server) rulesDelete(kind string) func(*call) {
	return func(c *call) {
		if r := s.ruleFor(c, kind); r != nil {
			delete(s.st.rules, r.ID)
			c.deleted()
		}
	}
}
