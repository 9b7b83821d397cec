package sync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	porta "github.com/3scale/3scale-porta-go-client/client"

	"github.com/maas-io/maas-webhook/pkg/sync/plan"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// plansDirty reports whether any plan section is in scope, a removed plan included.
func (r *applyRun) plansDirty() bool {
	if r.fresh || r.adopted || r.scope.Drift {
		return true
	}
	for s := range r.changed {
		if strings.HasPrefix(s, plan.SectionPlanPrefix) {
			return true
		}
	}
	return false
}

// ensurePlans makes the application plans exactly the desired ones; within a plan
// that exists, only a plan whose section changed is read.
func (r *applyRun) ensurePlans(ctx context.Context) error {
	if !r.plansDirty() {
		return nil
	}
	if err := r.loadMetrics(ctx); err != nil {
		return err
	}
	live := map[string]porta.ApplicationPlanItem{}
	if !r.fresh {
		plans, err := r.c.ListApplicationPlans(ctx, r.st.Product)
		if err != nil {
			return err
		}
		for _, p := range plans {
			live[p.SystemName] = p
		}
	}
	wanted := map[string]bool{}
	for _, want := range r.d.ApplicationPlans {
		wanted[want.SystemName] = true
		p, ok := live[want.SystemName]
		if !ok {
			if err := r.createPlan(ctx, want); err != nil {
				return err
			}
			continue
		}
		if r.dirty(plan.SectionPlanPrefix + want.SystemName) {
			if err := r.updatePlan(ctx, p, want); err != nil {
				return err
			}
		}
	}
	for _, name := range sortedKeys(live) {
		if wanted[name] {
			continue
		}
		if err := r.c.DeleteApplicationPlan(ctx, r.st.Product, live[name].ID); err != nil && !errors.Is(err, threescale.ErrNotFound) {
			return err
		}
		r.note("deleted application plan %s", name)
	}
	return nil
}

func planParams(want plan.ApplicationPlan) porta.Params {
	return porta.Params{
		"name":              want.Name,
		"approval_required": strconv.FormatBool(want.ApprovalRequired),
		"setup_fee":         orZero(want.SetupFee),
		"cost_per_month":    orZero(want.CostPerMonth),
	}
}

func orZero(price string) string {
	if price == "" {
		return "0"
	}
	return price
}

func (r *applyRun) createPlan(ctx context.Context, want plan.ApplicationPlan) error {
	params := planParams(want)
	params["system_name"] = want.SystemName
	if want.Published {
		params["state_event"] = "publish"
	}
	p, err := r.c.CreateApplicationPlan(ctx, r.st.Product, params)
	if err != nil {
		return err
	}
	r.note("created application plan %s", want.SystemName)
	for _, l := range want.Limits {
		if err := r.createLimit(ctx, p.ID, l); err != nil {
			return err
		}
	}
	for _, pr := range want.PricingRules {
		if err := r.createPricingRule(ctx, p.ID, pr); err != nil {
			return err
		}
	}
	return nil
}

func (r *applyRun) metricID(name string) (int64, error) {
	m, ok := r.metrics[name]
	if !ok {
		return 0, fmt.Errorf("product %d has no metric %s", r.st.Product, name)
	}
	return m.ID, nil
}

func (r *applyRun) createLimit(ctx context.Context, planID int64, l plan.Limit) error {
	mid, err := r.metricID(l.Metric)
	if err != nil {
		return err
	}
	if _, err := r.c.CreateLimit(ctx, planID, mid, l.Period, int(l.Value)); err != nil {
		return err
	}
	r.note("created limit %s per %s", l.Metric, l.Period)
	return nil
}

func (r *applyRun) createPricingRule(ctx context.Context, planID int64, pr plan.PricingRule) error {
	mid, err := r.metricID(pr.Metric)
	if err != nil {
		return err
	}
	params := porta.Params{"min": strconv.FormatInt(pr.Min, 10), "cost_per_unit": pr.CostPerUnit}
	if pr.Max != 0 {
		params["max"] = strconv.FormatInt(pr.Max, 10)
	}
	if _, err := r.c.CreatePricingRule(ctx, planID, mid, params); err != nil {
		return err
	}
	r.note("created pricing rule on %s from %d", pr.Metric, pr.Min)
	return nil
}

// updatePlan diffs a plan's attributes, limits and pricing rules.
func (r *applyRun) updatePlan(ctx context.Context, live porta.ApplicationPlanItem, want plan.ApplicationPlan) error {
	upd := porta.Params{}
	wp := planParams(want)
	setIf(upd, "name", live.Name, want.Name)
	setIf(upd, "approval_required", strconv.FormatBool(live.ApprovalRequired), wp["approval_required"])
	if !samePrice(live.SetupFee, wp["setup_fee"]) {
		upd["setup_fee"] = wp["setup_fee"]
	}
	if !samePrice(live.CostPerMonth, wp["cost_per_month"]) {
		upd["cost_per_month"] = wp["cost_per_month"]
	}
	switch published := live.State == "published"; {
	case want.Published && !published:
		upd["state_event"] = "publish"
	case !want.Published && published:
		upd["state_event"] = "hide"
	}
	if len(upd) > 0 {
		if _, err := r.c.UpdateApplicationPlan(ctx, r.st.Product, live.ID, upd); err != nil {
			return err
		}
		r.note("updated application plan %s %s", want.SystemName, keys(upd))
	}
	if err := r.syncLimits(ctx, live.ID, want); err != nil {
		return err
	}
	return r.syncPricingRules(ctx, live.ID, want)
}

func samePrice(live float64, want string) bool {
	w, err := strconv.ParseFloat(want, 64)
	return err == nil && w == live
}

type limitKey struct {
	metric int64
	period string
}

func (r *applyRun) syncLimits(ctx context.Context, planID int64, want plan.ApplicationPlan) error {
	live, err := r.c.ListLimits(ctx, planID)
	if err != nil {
		return err
	}
	have := map[limitKey]porta.ApplicationPlanLimitItem{}
	for _, l := range live {
		have[limitKey{l.MetricID, l.Period}] = l
	}
	for _, l := range want.Limits {
		mid, err := r.metricID(l.Metric)
		if err != nil {
			return err
		}
		k := limitKey{mid, l.Period}
		cur, ok := have[k]
		delete(have, k)
		switch {
		case !ok:
			if err := r.createLimit(ctx, planID, l); err != nil {
				return err
			}
		case int64(cur.Value) != l.Value:
			params := porta.Params{"value": strconv.FormatInt(l.Value, 10)}
			if _, err := r.c.UpdateLimit(ctx, planID, mid, cur.ID, params); err != nil {
				return err
			}
			r.note("updated limit %s per %s", l.Metric, l.Period)
		}
	}
	for _, l := range have {
		if err := r.c.DeleteLimit(ctx, planID, l.MetricID, l.ID); err != nil && !errors.Is(err, threescale.ErrNotFound) {
			return err
		}
		r.note("deleted limit per %s on plan %s", l.Period, want.SystemName)
	}
	return nil
}

type priceKey struct {
	metric   int64
	min, max int64
	cost     float64
}

// syncPricingRules deletes the rules that differ before creating the missing ones,
// since 3scale rejects overlapping ranges.
func (r *applyRun) syncPricingRules(ctx context.Context, planID int64, want plan.ApplicationPlan) error {
	live, err := r.c.ListPricingRules(ctx, planID)
	if err != nil {
		return err
	}
	missing := map[priceKey]plan.PricingRule{}
	for _, pr := range want.PricingRules {
		mid, err := r.metricID(pr.Metric)
		if err != nil {
			return err
		}
		cost, _ := strconv.ParseFloat(pr.CostPerUnit, 64)
		missing[priceKey{mid, pr.Min, pr.Max, cost}] = pr
	}
	for _, l := range live {
		cost, _ := strconv.ParseFloat(l.CostPerUnit, 64)
		k := priceKey{l.MetricID, int64(l.Min), int64(l.Max), cost}
		if _, ok := missing[k]; ok {
			delete(missing, k)
			continue
		}
		if err := r.c.DeletePricingRule(ctx, planID, l.MetricID, l.ID); err != nil && !errors.Is(err, threescale.ErrNotFound) {
			return err
		}
		r.note("deleted pricing rule on plan %s", want.SystemName)
	}
	for _, pr := range want.PricingRules {
		mid, _ := r.metricID(pr.Metric)
		cost, _ := strconv.ParseFloat(pr.CostPerUnit, 64)
		if _, ok := missing[priceKey{mid, pr.Min, pr.Max, cost}]; ok {
			if err := r.createPricingRule(ctx, planID, pr); err != nil {
				return err
			}
		}
	}
	return nil
}
