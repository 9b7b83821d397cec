// Package config is the controller configuration file: where 3scale is, the plan
// catalogue, the policy and CORS defaults, and the limits on how hard the controller may
// call the Admin API. It is decoded strictly and validated before anything runs.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// Config is the controller configuration.
type Config struct {
	// ThreeScale says how to reach the 3scale Admin API.
	ThreeScale ThreeScale `json:"threescale"`
	// Plans is the catalogue of application plans a model can offer.
	Plans []Plan `json:"plans"`
	// DefaultPlans are the plans of a model whose annotation names none.
	DefaultPlans []string `json:"defaultPlans"`
	// TokenMetrics configures the token-usage policy.
	TokenMetrics TokenMetrics `json:"tokenMetrics"`
	// CORS holds the CORS policy defaults.
	CORS CORS `json:"cors"`
	// ResyncPeriod is how often a synced model is checked for drift.
	ResyncPeriod metav1.Duration `json:"resyncPeriod"`
}

// ThreeScale says how to reach the 3scale Admin API and how hard to call it.
type ThreeScale struct {
	// AdminURL is the tenant's admin portal URL, such as https://maas-admin.apps.example.com.
	AdminURL string `json:"adminURL"`
	// TokenSecretRef names the Secret that holds the Admin API access token.
	TokenSecretRef SecretKeyRef `json:"tokenSecretRef"`
	// CABundleFile is an optional PEM file of CAs that sign the admin portal's certificate.
	CABundleFile string `json:"caBundleFile,omitempty"`
	// InsecureSkipVerify turns off TLS verification. For labs only; it is logged.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// RateLimit caps the Admin API calls of the whole process.
	RateLimit RateLimit `json:"rateLimit"`
	// Concurrency caps the Admin API calls in flight at once.
	Concurrency int `json:"concurrency"`
	// Timeout bounds each Admin API call.
	Timeout metav1.Duration `json:"timeout"`
}

// SecretKeyRef names one key of a Secret.
type SecretKeyRef struct {
	// Namespace of the Secret; empty means the controller's own namespace.
	Namespace string `json:"namespace,omitempty"`
	// Name of the Secret.
	Name string `json:"name"`
	// Key in the Secret's data.
	Key string `json:"key"`
}

// RateLimit is a token bucket.
type RateLimit struct {
	// QPS is the sustained rate, in calls per second.
	QPS float64 `json:"qps"`
	// Burst is the bucket size.
	Burst int `json:"burst"`
}

// Plan is one application plan of the catalogue.
type Plan struct {
	// Name is the plan's system name in 3scale and its name in maas.io/plans.
	Name string `json:"name"`
	// DisplayName is the plan name shown in the portal; the Name when empty.
	DisplayName string `json:"displayName,omitempty"`
	// Published makes the plan visible in the developer portal.
	Published bool `json:"published"`
	// ApprovalRequired makes new applications wait for an administrator.
	ApprovalRequired bool `json:"approvalRequired,omitempty"`
	// SetupFee is charged once, in the tenant's currency, as a decimal string.
	SetupFee string `json:"setupFee,omitempty"`
	// CostPerMonth is charged monthly, as a decimal string.
	CostPerMonth string `json:"costPerMonth,omitempty"`
	// Limits are the usage limits.
	Limits []Limit `json:"limits,omitempty"`
	// PricingRules are the per-unit prices.
	PricingRules []PricingRule `json:"pricingRules,omitempty"`
}

// Limit caps a metric over a period.
type Limit struct {
	// Metric is hits or one of the token metrics.
	Metric string `json:"metric"`
	// Period is one of the periods 3scale accepts.
	Period string `json:"period"`
	// Value is the most the metric may reach within the period.
	Value int64 `json:"value"`
}

// PricingRule charges for a metric between two counts.
type PricingRule struct {
	// Metric is hits or one of the token metrics.
	Metric string `json:"metric"`
	// From is the first unit the rule applies to (at least 1).
	From int64 `json:"from"`
	// To is the last unit; 0 means no upper end.
	To int64 `json:"to,omitempty"`
	// PricePerUnit is a decimal string.
	PricePerUnit string `json:"pricePerUnit"`
}

// TokenMetrics configures the token-usage policy.
type TokenMetrics struct {
	// Enabled is the default of the maas.io/token-metrics annotation.
	Enabled bool `json:"enabled"`
	// PolicyName is the custom APIcast policy's name.
	PolicyName string `json:"policyName"`
	// PolicyVersion is the custom APIcast policy's version.
	PolicyVersion string `json:"policyVersion"`
}

// CORS holds the CORS policy defaults.
type CORS struct {
	// AllowOrigin is the default of maas.io/cors-allow-origin.
	AllowOrigin string `json:"allowOrigin"`
	// AllowHeaders are the request headers browsers may send.
	AllowHeaders []string `json:"allowHeaders"`
	// AllowCredentials lets browsers send credentials.
	AllowCredentials bool `json:"allowCredentials"`
}

// Metrics are the metric system names a limit or pricing rule may use.
var Metrics = []string{"hits", "prompt_tokens", "completion_tokens", "total_tokens"}

// Periods are the limit periods 3scale accepts.
var Periods = []string{"eternity", "year", "month", "week", "day", "hour", "minute"}

// Default returns the configuration used where a field is left out: sensible limits on
// the Admin API, token metrics on, CORS open to every origin. Parse adds one published
// "basic" plan when the file has no plans, and makes the first plan the default when
// the file names no default plans.
func Default() Config {
	return Config{
		ThreeScale: ThreeScale{
			RateLimit:   RateLimit{QPS: 10, Burst: 20},
			Concurrency: 4,
			Timeout:     metav1.Duration{Duration: 30 * time.Second},
		},
		TokenMetrics: TokenMetrics{Enabled: true, PolicyName: "llm-metrics", PolicyVersion: "0.1"},
		CORS: CORS{
			AllowOrigin:      "*",
			AllowHeaders:     []string{"Authorization", "Content-Type", "Accept"},
			AllowCredentials: true,
		},
		ResyncPeriod: metav1.Duration{Duration: 10 * time.Minute},
	}
}

// Load reads, decodes and validates a configuration file.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading configuration: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("configuration %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration strictly (an unknown field is an error) over Default
// and validates it.
func Parse(data []byte) (Config, error) {
	c := Default()
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Config{}, fmt.Errorf("decoding: %w", err)
	}
	// sigs.k8s.io/json matches field names case-sensitively, unlike encoding/json, so
	// that a misspelt "adminURl" is reported instead of silently accepted.
	strictErrs, err := kjson.UnmarshalStrict(js, &c, kjson.DisallowUnknownFields)
	if err != nil {
		return Config{}, fmt.Errorf("decoding: %w", err)
	}
	if err := errors.Join(strictErrs...); err != nil {
		return Config{}, fmt.Errorf("decoding: %w", err)
	}
	if c.Plans == nil {
		c.Plans = []Plan{{Name: "basic", DisplayName: "Basic", Published: true}}
	}
	if c.DefaultPlans == nil && len(c.Plans) > 0 {
		c.DefaultPlans = []string{c.Plans[0].Name}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every field and returns all the problems, each naming its field path.
func (c Config) Validate() error {
	var errs field.ErrorList
	ts := field.NewPath("threescale")
	if c.ThreeScale.AdminURL != "" {
		u, err := url.Parse(c.ThreeScale.AdminURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, field.Invalid(ts.Child("adminURL"), c.ThreeScale.AdminURL, "must be an absolute http or https URL"))
		}
		ref := ts.Child("tokenSecretRef")
		if c.ThreeScale.TokenSecretRef.Name == "" {
			errs = append(errs, field.Required(ref.Child("name"), "the Secret that holds the Admin API access token"))
		}
		if c.ThreeScale.TokenSecretRef.Key == "" {
			errs = append(errs, field.Required(ref.Child("key"), "the key of the access token in the Secret"))
		}
	}
	if c.ThreeScale.RateLimit.QPS <= 0 {
		errs = append(errs, field.Invalid(ts.Child("rateLimit", "qps"), c.ThreeScale.RateLimit.QPS, "must be greater than 0"))
	}
	if c.ThreeScale.RateLimit.Burst < 1 {
		errs = append(errs, field.Invalid(ts.Child("rateLimit", "burst"), c.ThreeScale.RateLimit.Burst, "must be at least 1"))
	}
	if c.ThreeScale.Concurrency < 1 {
		errs = append(errs, field.Invalid(ts.Child("concurrency"), c.ThreeScale.Concurrency, "must be at least 1"))
	}
	if c.ThreeScale.Timeout.Duration <= 0 {
		errs = append(errs, field.Invalid(ts.Child("timeout"), c.ThreeScale.Timeout.Duration.String(), "must be greater than 0"))
	}

	plansPath := field.NewPath("plans")
	if len(c.Plans) == 0 {
		errs = append(errs, field.Required(plansPath, "at least one plan"))
	}
	names := map[string]bool{}
	for i, p := range c.Plans {
		errs = append(errs, p.validate(plansPath.Index(i))...)
		if names[p.Name] {
			errs = append(errs, field.Duplicate(plansPath.Index(i).Child("name"), p.Name))
		}
		names[p.Name] = true
	}
	dp := field.NewPath("defaultPlans")
	if len(c.DefaultPlans) == 0 {
		errs = append(errs, field.Required(dp, "at least one plan name"))
	}
	for i, name := range c.DefaultPlans {
		if !names[name] {
			errs = append(errs, field.NotSupported(dp.Index(i), name, c.PlanNames()))
		}
	}

	tm := field.NewPath("tokenMetrics")
	if !annotations.ValidSystemName(c.TokenMetrics.PolicyName) {
		errs = append(errs, field.Invalid(tm.Child("policyName"), c.TokenMetrics.PolicyName, `must match ^\w[\w\-/]+$`))
	}
	if strings.TrimSpace(c.TokenMetrics.PolicyVersion) == "" {
		errs = append(errs, field.Required(tm.Child("policyVersion"), "the custom policy's version, such as 0.1"))
	}

	cp := field.NewPath("cors")
	if _, err := annotations.Parse(annotations.Input{Annotations: map[string]string{annotations.CORSAllowOrigin: c.CORS.AllowOrigin}}); err != nil {
		errs = append(errs, field.Invalid(cp.Child("allowOrigin"), c.CORS.AllowOrigin, `must be "*" or an origin such as https://chat.example.com`))
	}
	for i, h := range c.CORS.AllowHeaders {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " ,:\r\n") {
			errs = append(errs, field.Invalid(cp.Child("allowHeaders").Index(i), h, "must be an HTTP header name"))
		}
	}

	if c.ResyncPeriod.Duration < time.Minute {
		errs = append(errs, field.Invalid(field.NewPath("resyncPeriod"), c.ResyncPeriod.Duration.String(), "must be at least 1m"))
	}
	return errs.ToAggregate()
}

func (p Plan) validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !annotations.ValidSystemName(p.Name) {
		errs = append(errs, field.Invalid(path.Child("name"), p.Name, `must match ^\w[\w\-/]+$, at most 255 characters`))
	}
	for _, fee := range []struct {
		name, value string
	}{{"setupFee", p.SetupFee}, {"costPerMonth", p.CostPerMonth}} {
		if fee.value != "" && !validPrice(fee.value) {
			errs = append(errs, field.Invalid(path.Child(fee.name), fee.value, "must be a non-negative decimal number with at most 4 decimal places"))
		}
	}
	type key struct{ metric, period string }
	seen := map[key]bool{}
	for i, l := range p.Limits {
		lp := path.Child("limits").Index(i)
		if !slices.Contains(Metrics, l.Metric) {
			errs = append(errs, field.NotSupported(lp.Child("metric"), l.Metric, Metrics))
		}
		if !slices.Contains(Periods, l.Period) {
			errs = append(errs, field.NotSupported(lp.Child("period"), l.Period, Periods))
		}
		if l.Value < 0 {
			errs = append(errs, field.Invalid(lp.Child("value"), l.Value, "must not be negative"))
		}
		if k := (key{l.Metric, l.Period}); seen[k] {
			errs = append(errs, field.Duplicate(lp, l.Metric+" per "+l.Period))
		} else {
			seen[k] = true
		}
	}
	for i, r := range p.PricingRules {
		rp := path.Child("pricingRules").Index(i)
		if !slices.Contains(Metrics, r.Metric) {
			errs = append(errs, field.NotSupported(rp.Child("metric"), r.Metric, Metrics))
		}
		if r.From < 1 {
			errs = append(errs, field.Invalid(rp.Child("from"), r.From, "must be at least 1"))
		}
		if r.To != 0 && r.To < r.From {
			errs = append(errs, field.Invalid(rp.Child("to"), r.To, "must be 0 (no upper end) or at least from"))
		}
		if !validPrice(r.PricePerUnit) {
			errs = append(errs, field.Invalid(rp.Child("pricePerUnit"), r.PricePerUnit, "must be a non-negative decimal number with at most 4 decimal places"))
		}
	}
	return errs
}

// maxPriceDecimals is how many decimal places 3scale stores for prices; it refuses a
// price with more (422 "is not a number").
const maxPriceDecimals = 4

func validPrice(s string) bool {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || strings.ContainsAny(s, "eEnNiI") {
		return false
	}
	_, frac, _ := strings.Cut(s, ".")
	return len(frac) <= maxPriceDecimals
}

// PlanNames lists the catalogue's plan names in order.
func (c Config) PlanNames() []string {
	names := make([]string, len(c.Plans))
	for i, p := range c.Plans {
		names[i] = p.Name
	}
	return names
}

// Plan returns the catalogue plan called name.
func (c Config) Plan(name string) (Plan, bool) {
	i := slices.IndexFunc(c.Plans, func(p Plan) bool { return p.Name == name })
	if i < 0 {
		return Plan{}, false
	}
	return c.Plans[i], true
}

// AnnotationDefaults are the defaults the annotation contract fills in from this
// configuration.
func (c Config) AnnotationDefaults() annotations.Defaults {
	return annotations.Defaults{
		Plans:           slices.Clone(c.DefaultPlans),
		AvailablePlans:  c.PlanNames(),
		TokenMetrics:    c.TokenMetrics.Enabled,
		CORSAllowOrigin: c.CORS.AllowOrigin,
	}
}

// ErrNoAdminURL is returned by RequireThreeScale when the configuration names no 3scale.
var ErrNoAdminURL = errors.New("threescale.adminURL: Required value: the 3scale admin portal URL")

// RequireThreeScale fails when the configuration does not say where 3scale is, which
// commands that call 3scale need but render does not.
func (c Config) RequireThreeScale() error {
	if c.ThreeScale.AdminURL == "" {
		return ErrNoAdminURL
	}
	return nil
}
