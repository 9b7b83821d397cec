package threescalesim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func planRoot(kind string) string { return kind + "_plan" }

func (s *Server) planJSON(p *Plan) obj {
	base := fmt.Sprintf("/admin/api/services/%d/%ss/%d", p.ServiceID, planRoot(p.Kind), p.ID)
	o := obj{
		"id": p.ID, "name": p.Name, "state": p.State, "setup_fee": p.SetupFee,
		"cost_per_month": p.CostPerMonth, "trial_period_days": p.TrialPeriodDays,
		"cancellation_period": 0, "approval_required": p.ApprovalRequired, "default": p.Default,
		"created_at": ts(p.CreatedAt), "updated_at": ts(p.UpdatedAt),
		"links": []obj{link("service", fmt.Sprintf("/admin/api/services/%d", p.ServiceID)), link("self", base)},
	}
	if p.Kind == PlanApplication {
		o["custom"] = false
		o["system_name"] = p.SystemName
	}
	return o
}

func (s *Server) servicePlans(kind string, sid int64) []*Plan {
	var out []*Plan
	for _, p := range sorted(s.st.plans) {
		if p.Kind == kind && (sid == 0 || p.ServiceID == sid) && s.liveService(p.ServiceID) != nil {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) renderPlans(c *call, kind string, plans []*Plan) {
	items := make([]obj, 0, len(plans))
	for _, p := range plans {
		items = append(items, s.planJSON(p))
	}
	c.collection("plans", planRoot(kind), items, nil)
}

func (s *Server) plansListAll(kind string) func(*call) {
	return func(c *call) { s.renderPlans(c, kind, s.servicePlans(kind, 0)) }
}

func (s *Server) plansList(kind string) func(*call) {
	return func(c *call) {
		sid := pathID(c.r, "sid")
		if s.liveService(sid) == nil {
			c.notFound()
			return
		}
		s.renderPlans(c, kind, s.servicePlans(kind, sid))
	}
}

// transition applies a plan state_event: hidden --publish--> published,
// published --hide--> hidden; anything else is a validation error.
func transition(errs fieldErrors, state, event string) string {
	switch {
	case event == "":
		return state
	case event != "publish" && event != "hide":
		errs.add("state_event", "invalid")
	case event == "publish" && state == "hidden", event == "hide" && state == "published":
		return map[string]string{"publish": "published", "hide": "hidden"}[event]
	default:
		errs.add("state_event", fmt.Sprintf("cannot transition via %q", event))
	}
	return state
}

// applyPlan validates and applies plan attributes; it returns the errors.
func applyPlan(p *Plan, c *call) fieldErrors {
	errs := fieldErrors{}
	if v, ok := c.p.str("name"); ok {
		if strings.TrimSpace(v) == "" {
			errs.add("name", "can't be blank")
		}
		p.Name = v
	}
	p.Description = c.p.def("description", p.Description)
	p.ApprovalRequired = c.p.boolean("approval_required", p.ApprovalRequired)
	for k, dst := range map[string]*float64{"setup_fee": &p.SetupFee, "cost_per_month": &p.CostPerMonth} {
		if v, ok := c.p.str(k); ok && v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				errs.add(k, "is not a number")
			}
			*dst = f
		}
	}
	if n, ok, err := c.p.intParam("trial_period_days"); ok {
		if err != nil || n < 0 {
			errs.add("trial_period_days", "is not a number")
		}
		p.TrialPeriodDays = n
	}
	p.State = transition(errs, p.State, c.p.def("state_event", ""))
	return errs
}

func (s *Server) plansCreate(kind string) func(*call) {
	return func(c *call) {
		sid := pathID(c.r, "sid")
		if s.liveService(sid) == nil {
			c.notFound()
			return
		}
		if !c.p.hasAny() {
			c.missing(planRoot(kind))
			return
		}
		p := &Plan{Kind: kind, ServiceID: sid, State: "hidden", CreatedAt: c.now, UpdatedAt: c.now}
		errs := applyPlan(p, c)
		if _, ok := c.p.str("name"); !ok {
			errs.add("name", "can't be blank")
		}
		p.SystemName = c.p.def("system_name", generateSystemName(p.Name))
		taken := slices.ContainsFunc(s.servicePlans(kind, sid), func(o *Plan) bool { return o.SystemName == p.SystemName })
		validateSystemName(errs, p.SystemName, taken)
		if len(errs) > 0 {
			c.invalid(errs)
			return
		}
		p.ID = s.st.id()
		s.st.plans[p.ID] = p
		c.created(planRoot(kind), s.planJSON(p), fmt.Sprintf("/admin/api/services/%d/%ss/%d", sid, planRoot(kind), p.ID))
	}
}

func (s *Server) planFor(c *call, kind string) *Plan {
	sid := pathID(c.r, "sid")
	p := s.st.plans[pathID(c.r, "id")]
	if s.liveService(sid) == nil || p == nil || p.Kind != kind || p.ServiceID != sid {
		c.notFound()
		return nil
	}
	return p
}

func (s *Server) plansRead(kind string) func(*call) {
	return func(c *call) {
		if p := s.planFor(c, kind); p != nil {
			c.entity(http.StatusOK, planRoot(kind), s.planJSON(p))
		}
	}
}

func (s *Server) plansUpdate(kind string) func(*call) {
	return func(c *call) {
		p := s.planFor(c, kind)
		if p == nil {
			return
		}
		upd := *p
		if errs := applyPlan(&upd, c); len(errs) > 0 {
			c.invalid(errs)
			return
		}
		upd.UpdatedAt = c.now
		*p = upd
		c.entity(http.StatusOK, planRoot(kind), s.planJSON(p))
	}
}

func (s *Server) plansDelete(kind string) func(*call) {
	return func(c *call) {
		if p := s.planFor(c, kind); p != nil {
			s.removePlan(p.ID)
			c.deleted()
		}
	}
}

func (s *Server) plansDefault(kind string) func(*call) {
	return func(c *call) {
		p := s.planFor(c, kind)
		if p == nil {
			return
		}
		for _, o := range s.servicePlans(kind, p.ServiceID) {
			o.Default = o.ID == p.ID
		}
		if kind == PlanService {
			s.st.services[p.ServiceID].DefaultServicePlanID = p.ID
		}
		c.entity(http.StatusOK, planRoot(kind), s.planJSON(p))
	}
}

// Limits.

var limitPeriods = []string{"eternity", "year", "month", "week", "day", "hour", "minute"}

func limitJSON(l *Limit) obj {
	return obj{
		"id": l.ID, "period": l.Period, "value": l.Value, "metric_id": l.MetricID, "plan_id": l.PlanID,
		"created_at": ts(l.CreatedAt), "updated_at": ts(l.UpdatedAt),
		"links": []obj{link("self", fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits/%d", l.PlanID, l.MetricID, l.ID))},
	}
}

func (s *Server) appPlan(c *call) *Plan {
	p := s.st.plans[pathID(c.r, "plan")]
	if p == nil || p.Kind != PlanApplication || s.liveService(p.ServiceID) == nil {
		c.notFound()
		return nil
	}
	return p
}

// planMetric resolves the {metric} of a plan: a metric of the plan's product or of
// a backend the product uses.
func (s *Server) planMetric(c *call) (*Plan, *Metric) {
	p := s.appPlan(c)
	if p == nil {
		return nil, nil
	}
	m := s.st.metrics[pathID(c.r, "metric")]
	if m != nil {
		if m.OwnerKind == OwnerService && m.OwnerID == p.ServiceID {
			return p, m
		}
		for _, u := range s.serviceUsages(p.ServiceID) {
			if m.OwnerKind == OwnerBackend && m.OwnerID == u.BackendID {
				return p, m
			}
		}
	}
	c.notFound()
	return nil, nil
}

func (s *Server) renderLimits(c *call, match func(*Limit) bool, paged bool) {
	var items []obj
	for _, l := range sorted(s.st.limits) {
		if match(l) {
			items = append(items, limitJSON(l))
		}
	}
	var meta *pageMeta
	if paged {
		items, meta = paginate(c, items)
	}
	c.collection("limits", "limit", items, meta)
}

func (s *Server) limitsList(c *call) {
	if p := s.appPlan(c); p != nil {
		s.renderLimits(c, func(l *Limit) bool { return l.PlanID == p.ID }, true)
	}
}

func (s *Server) limitsListMetric(c *call) {
	if p, m := s.planMetric(c); m != nil {
		s.renderLimits(c, func(l *Limit) bool { return l.PlanID == p.ID && l.MetricID == m.ID }, false)
	}
}

func (s *Server) applyLimit(l *Limit, c *call, create bool) fieldErrors {
	errs := fieldErrors{}
	if v, ok := c.p.str("period"); ok || create {
		if !slices.Contains(limitPeriods, v) {
			errs.add("period", "is invalid")
		}
		l.Period = v
	}
	if v, ok := c.p.str("value"); ok || create {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs.add("value", "is not a number")
		}
		l.Value = n
	}
	for _, o := range s.st.limits {
		if o.ID != l.ID && o.PlanID == l.PlanID && o.MetricID == l.MetricID && o.Period == l.Period {
			errs.add("period", "has already been taken")
		}
	}
	return errs
}

func (s *Server) limitsCreate(c *call) {
	p, m := s.planMetric(c)
	if m == nil {
		return
	}
	if !c.p.hasAny() {
		c.missing("usage_limit")
		return
	}
	l := &Limit{PlanID: p.ID, MetricID: m.ID, CreatedAt: c.now, UpdatedAt: c.now}
	if errs := s.applyLimit(l, c, true); len(errs) > 0 {
		c.invalid(errs)
		return
	}
	l.ID = s.st.id()
	s.st.limits[l.ID] = l
	c.created("limit", limitJSON(l), fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/limits/%d", p.ID, m.ID, l.ID))
}

func (s *Server) limitFor(c *call) *Limit {
	p, m := s.planMetric(c)
	if m == nil {
		return nil
	}
	l := s.st.limits[pathID(c.r, "id")]
	if l == nil || l.PlanID != p.ID || l.MetricID != m.ID {
		c.notFound()
		return nil
	}
	return l
}

func (s *Server) limitsRead(c *call) {
	if l := s.limitFor(c); l != nil {
		c.entity(http.StatusOK, "limit", limitJSON(l))
	}
}

func (s *Server) limitsUpdate(c *call) {
	l := s.limitFor(c)
	if l == nil {
		return
	}
	upd := *l
	if errs := s.applyLimit(&upd, c, false); len(errs) > 0 {
		c.invalid(errs)
		return
	}
	upd.UpdatedAt = c.now
	*l = upd
	c.entity(http.StatusOK, "limit", limitJSON(l))
}

func (s *Server) limitsDelete(c *call) {
	if l := s.limitFor(c); l != nil {
		delete(s.st.limits, l.ID)
		c.deleted()
	}
}

// Pricing rules.

var costRE = regexp.MustCompile(`^\d+(\.\d{1,4})?$`)

func pricingJSON(r *PricingRule) obj {
	o := obj{
		"id": r.ID, "metric_id": r.MetricID, "cost_per_unit": r.CostPerUnit, "min": r.Min, "max": nil,
		"created_at": ts(r.CreatedAt), "updated_at": ts(r.UpdatedAt),
		"links": []obj{link("metric", fmt.Sprintf("/admin/api/metrics/%d", r.MetricID))},
	}
	if r.Max != 0 {
		o["max"] = r.Max
	}
	return o
}

func (s *Server) renderPricing(c *call, match func(*PricingRule) bool) {
	var items []obj
	for _, r := range sorted(s.st.pricing) {
		if match(r) {
			items = append(items, pricingJSON(r))
		}
	}
	c.collection("pricing_rules", "pricing_rule", items, nil)
}

func (s *Server) pricingList(c *call) {
	if p := s.appPlan(c); p != nil {
		s.renderPricing(c, func(r *PricingRule) bool { return r.PlanID == p.ID })
	}
}

func (s *Server) pricingListMetric(c *call) {
	if p, m := s.planMetric(c); m != nil {
		s.renderPricing(c, func(r *PricingRule) bool { return r.PlanID == p.ID && r.MetricID == m.ID })
	}
}

func (s *Server) pricingCreate(c *call) {
	p, m := s.planMetric(c)
	if m == nil {
		return
	}
	errs := fieldErrors{}
	r := &PricingRule{PlanID: p.ID, MetricID: m.ID, CostPerUnit: c.p.def("cost_per_unit", "0.0"), Min: 1, CreatedAt: c.now, UpdatedAt: c.now}
	if n, ok, err := c.p.intParam("min"); ok {
		if err != nil {
			errs.add("min", "is not a number")
		}
		r.Min = n
	}
	if n, ok, err := c.p.intParam("max"); ok {
		if err != nil {
			errs.add("max", "is not a number")
		}
		r.Max = n
	}
	if !costRE.MatchString(r.CostPerUnit) {
		errs.add("cost_per_unit", "is not a number")
	}
	if r.Max != 0 && r.Max < r.Min {
		errs.add("max", "must be greater than or equal to min")
	}
	for _, o := range s.st.pricing {
		if o.PlanID == p.ID && o.MetricID == m.ID && (o.Max == 0 || r.Min <= o.Max) && (r.Max == 0 || r.Max >= o.Min) {
			errs.add("min", "The 'From' value must be greater than the 'To' values of other existing rules")
			break
		}
	}
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	r.ID = s.st.id()
	s.st.pricing[r.ID] = r
	c.created("pricing_rule", pricingJSON(r), fmt.Sprintf("/admin/api/application_plans/%d/metrics/%d/pricing_rules/%d", p.ID, m.ID, r.ID))
}

func (s *Server) pricingDelete(c *call) {
	p, m := s.planMetric(c)
	if m == nil {
		return
	}
	r := s.st.pricing[pathID(c.r, "id")]
	if r == nil || r.PlanID != p.ID || r.MetricID != m.ID {
		c.notFound()
		return
	}
	delete(s.st.pricing, r.ID)
	c.deleted()
}
