package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadExample(t *testing.T) {
	c, err := Load("../../examples/config.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff([]string{"basic", "premium"}, c.PlanNames()); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	p, ok := c.Plan("premium")
	if !ok || !p.ApprovalRequired || p.CostPerMonth != "49.00" || len(p.PricingRules) != 1 {
		t.Errorf("premium plan = %+v", p)
	}
	if c.ResyncPeriod.Duration != 10*time.Minute || c.ThreeScale.Timeout.Duration != 30*time.Second {
		t.Errorf("durations = %v, %v", c.ResyncPeriod.Duration, c.ThreeScale.Timeout.Duration)
	}
	d := c.AnnotationDefaults()
	if diff := cmp.Diff([]string{"basic"}, d.Plans); diff != "" || !d.TokenMetrics || d.CORSAllowOrigin != "*" {
		t.Errorf("AnnotationDefaults = %+v", d)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte("{}"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if diff := cmp.Diff([]string{"basic"}, c.DefaultPlans); diff != "" {
		t.Errorf("default plans (-want +got):\n%s", diff)
	}
	if err := c.RequireThreeScale(); err == nil {
		t.Error("RequireThreeScale: want an error without adminURL")
	}
	c, err = Parse([]byte("plans: [{name: gold, published: true}]"))
	if err != nil || c.DefaultPlans[0] != "gold" {
		t.Errorf("first plan is not the default: %v %v", c.DefaultPlans, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown field", "threescale: {adminURl: https://x}", []string{`unknown field "threescale.adminURl"`}},
		{"bad url", "threescale: {adminURL: 'ftp://x', tokenSecretRef: {name: s, key: k}}", []string{"threescale.adminURL", "absolute http or https"}},
		{"token ref required", "threescale: {adminURL: 'https://x'}", []string{"threescale.tokenSecretRef.name: Required", "threescale.tokenSecretRef.key: Required"}},
		{"rate limit", "threescale: {rateLimit: {qps: 0, burst: 0}, concurrency: 0}", []string{"threescale.rateLimit.qps", "threescale.rateLimit.burst", "threescale.concurrency"}},
		{"timeout", "threescale: {timeout: -1s}", []string{"threescale.timeout"}},
		{"bad duration", "resyncPeriod: soon", []string{"decoding"}},
		{"short resync", "resyncPeriod: 10s", []string{"resyncPeriod", "at least 1m"}},
		{"empty plans", "plans: []", []string{"plans: Required value"}},
		{"bad plan name", "plans: [{name: 'gold plan'}]", []string{"plans[0].name"}},
		{"duplicate plan", "plans: [{name: a}, {name: a}]", []string{"plans[1].name: Duplicate"}},
		{"bad metric", "plans: [{name: a, limits: [{metric: tokens, period: day, value: 1}]}]", []string{"plans[0].limits[0].metric", "hits", "total_tokens"}},
		{"bad period", "plans: [{name: a, limits: [{metric: hits, period: fortnight, value: 1}]}]", []string{"plans[0].limits[0].period", `"minute"`}},
		{"negative limit", "plans: [{name: a, limits: [{metric: hits, period: day, value: -1}]}]", []string{"plans[0].limits[0].value"}},
		{"duplicate limit", "plans: [{name: a, limits: [{metric: hits, period: day, value: 1}, {metric: hits, period: day, value: 2}]}]", []string{"plans[0].limits[1]: Duplicate"}},
		{"bad price", "plans: [{name: a, pricingRules: [{metric: hits, from: 1, pricePerUnit: 'cheap'}]}]", []string{"plans[0].pricingRules[0].pricePerUnit"}},
		{"bad range", "plans: [{name: a, pricingRules: [{metric: hits, from: 0, to: -2, pricePerUnit: '1'}]}]", []string{"plans[0].pricingRules[0].from", "plans[0].pricingRules[0].to"}},
		{"bad fee", "plans: [{name: a, setupFee: '-1'}]", []string{"plans[0].setupFee"}},
		{"too precise price", "plans: [{name: a, pricingRules: [{metric: hits, from: 1, pricePerUnit: '0.00002'}]}]", []string{"plans[0].pricingRules[0].pricePerUnit", "at most 4 decimal places"}},
		{"unknown default plan", "plans: [{name: a}]\ndefaultPlans: [b]", []string{"defaultPlans[0]: Unsupported value: \"b\""}},
		{"policy name", "tokenMetrics: {policyName: 'a b', policyVersion: ''}", []string{"tokenMetrics.policyName", "tokenMetrics.policyVersion"}},
		{"cors", "cors: {allowOrigin: 'example.com', allowHeaders: ['', 'X Y']}", []string{"cors.allowOrigin", "cors.allowHeaders[0]", "cors.allowHeaders[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse: want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
