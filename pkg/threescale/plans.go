package threescale

import (
	"context"
	"fmt"
	"strconv"

	porta "github.com/3scale/3scale-porta-go-client/client"
)

func planObj(productID, planID int64) string {
	return fmt.Sprintf("product %d application plan %d", productID, planID)
}

func planItem(p *porta.ApplicationPlan) *porta.ApplicationPlanItem { return &p.Element }

func limitItem(l *porta.ApplicationPlanLimit) *porta.ApplicationPlanLimitItem { return &l.Element }

// ListApplicationPlans lists a product's application plans.
func (c *Client) ListApplicationPlans(ctx context.Context, productID int64) ([]porta.ApplicationPlanItem, error) {
	var out []porta.ApplicationPlanItem
	err := c.callPorta(ctx, "ListApplicationPlans", productObj(productID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListApplicationPlansByProduct(productID)
		if err != nil {
			return err
		}
		for _, p := range l.Plans {
			out = append(out, p.Element)
		}
		return nil
	})
	return out, err
}

// CreateApplicationPlan creates an application plan (name, system_name,
// approval_required, cost_per_month, setup_fee, trial_period_days, state_event).
// New plans are hidden unless state_event=publish.
func (c *Client) CreateApplicationPlan(ctx context.Context, productID int64, params porta.Params) (*porta.ApplicationPlanItem, error) {
	var out *porta.ApplicationPlan
	err := c.callPorta(ctx, "CreateApplicationPlan", systemNameObj("application plan", params), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateApplicationPlan(productID, params)
		return err
	})
	return elem(out, err, planItem)
}

// UpdateApplicationPlan updates an application plan.
func (c *Client) UpdateApplicationPlan(ctx context.Context, productID, planID int64, params porta.Params) (*porta.ApplicationPlanItem, error) {
	var out *porta.ApplicationPlan
	err := c.callPorta(ctx, "UpdateApplicationPlan", planObj(productID, planID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateApplicationPlan(productID, planID, params)
		return err
	})
	return elem(out, err, planItem)
}

// PublishApplicationPlan publishes a hidden plan (state_event=publish); publishing
// a published plan is a validation error.
func (c *Client) PublishApplicationPlan(ctx context.Context, productID, planID int64) (*porta.ApplicationPlanItem, error) {
	return c.UpdateApplicationPlan(ctx, productID, planID, porta.Params{"state_event": "publish"})
}

// DeleteApplicationPlan deletes an application plan.
func (c *Client) DeleteApplicationPlan(ctx context.Context, productID, planID int64) error {
	return c.callPorta(ctx, "DeleteApplicationPlan", planObj(productID, planID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteApplicationPlan(productID, planID)
	})
}

// ListLimits lists an application plan's limits (all metrics).
func (c *Client) ListLimits(ctx context.Context, planID int64) ([]porta.ApplicationPlanLimitItem, error) {
	var out []porta.ApplicationPlanLimitItem
	err := c.callPorta(ctx, "ListLimits", fmt.Sprintf("application plan %d", planID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListApplicationPlansLimits(planID)
		if err != nil {
			return err
		}
		for _, it := range l.Limits {
			out = append(out, it.Element)
		}
		return nil
	})
	return out, err
}

// CreateLimit creates a limit of value per period (eternity, year, month, week,
// day, hour, minute) on a metric; one per metric and period.
func (c *Client) CreateLimit(ctx context.Context, planID, metricID int64, period string, value int) (*porta.ApplicationPlanLimitItem, error) {
	params := porta.Params{"period": period, "value": strconv.Itoa(value)}
	var out *porta.ApplicationPlanLimit
	obj := fmt.Sprintf("application plan %d metric %d limit per %s", planID, metricID, period)
	err := c.callPorta(ctx, "CreateLimit", obj, func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateApplicationPlanLimit(planID, metricID, params)
		return err
	})
	return elem(out, err, limitItem)
}

// UpdateLimit updates a limit (period, value).
func (c *Client) UpdateLimit(ctx context.Context, planID, metricID, limitID int64, params porta.Params) (*porta.ApplicationPlanLimitItem, error) {
	var out *porta.ApplicationPlanLimit
	err := c.callPorta(ctx, "UpdateLimit", fmt.Sprintf("application plan %d limit %d", planID, limitID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateApplicationPlanLimit(planID, metricID, limitID, params)
		return err
	})
	return elem(out, err, limitItem)
}

// DeleteLimit deletes a limit.
func (c *Client) DeleteLimit(ctx context.Context, planID, metricID, limitID int64) error {
	return c.callPorta(ctx, "DeleteLimit", fmt.Sprintf("application plan %d limit %d", planID, limitID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteApplicationPlanLimit(planID, metricID, limitID)
	})
}

// ListPricingRules lists an application plan's pricing rules (all metrics).
func (c *Client) ListPricingRules(ctx context.Context, planID int64) ([]porta.ApplicationPlanPricingRuleItem, error) {
	var out []porta.ApplicationPlanPricingRuleItem
	err := c.callPorta(ctx, "ListPricingRules", fmt.Sprintf("application plan %d", planID), func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListApplicationPlansPricingRules(planID)
		if err != nil {
			return err
		}
		for _, r := range l.Rules {
			out = append(out, r.Element)
		}
		return nil
	})
	return out, err
}

// CreatePricingRule creates a pricing rule (min, max, cost_per_unit) on a metric.
func (c *Client) CreatePricingRule(ctx context.Context, planID, metricID int64, params porta.Params) (*porta.ApplicationPlanPricingRuleItem, error) {
	var out *porta.ApplicationPlanPricingRule
	err := c.callPorta(ctx, "CreatePricingRule", fmt.Sprintf("application plan %d metric %d pricing rule", planID, metricID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateApplicationPlanPricingRule(planID, metricID, params)
		return err
	})
	return elem(out, err, func(r *porta.ApplicationPlanPricingRule) *porta.ApplicationPlanPricingRuleItem { return &r.Element })
}

// DeletePricingRule deletes a pricing rule.
func (c *Client) DeletePricingRule(ctx context.Context, planID, metricID, ruleID int64) error {
	return c.callPorta(ctx, "DeletePricingRule", fmt.Sprintf("application plan %d pricing rule %d", planID, ruleID), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteApplicationPlanPricingRule(planID, metricID, ruleID)
	})
}
