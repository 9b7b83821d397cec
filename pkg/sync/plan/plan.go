package plan

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// Desired is the 3scale state one exposed model should have. It is a plain value:
// marshal it with MarshalYAML or encoding/json.
type Desired struct {
	// SystemName is the system name S every object is named after.
	SystemName string `json:"systemName"`
	// OwnerUID is the InferenceService UID carried by every object as maas_uid.
	OwnerUID string `json:"ownerUID"`
	// Backend is the backend API pointing at the model.
	Backend Backend `json:"backend"`
	// Product is the product (3scale service).
	Product Product `json:"product"`
	// Proxy holds the product's gateway authentication settings.
	Proxy Proxy `json:"proxy"`
	// Policies is the policy chain, in order, apicast last.
	Policies []Policy `json:"policies"`
	// Metrics are the product metrics besides hits.
	Metrics []Metric `json:"metrics,omitempty"`
	// Methods are the methods under hits, one per exposed path.
	Methods []Method `json:"methods"`
	// MappingRules are the product mapping rules, one per exposed path.
	MappingRules []MappingRule `json:"mappingRules"`
	// ApplicationPlans are the plans, in the order of maas.io/plans.
	ApplicationPlans []ApplicationPlan `json:"applicationPlans"`
	// ActiveDoc is the OpenAPI page; nil when maas.io/openapi is "none".
	ActiveDoc *ActiveDoc `json:"activeDoc,omitempty"`
	// Portal is the developer-portal listing intent.
	Portal Portal `json:"portal"`
	// DeletionPolicy says what withdrawal does.
	DeletionPolicy annotations.DeletionPolicyValue `json:"deletionPolicy"`
}

// Backend is the desired backend API.
type Backend struct {
	// Name is the backend's name.
	Name string `json:"name"`
	// Description is the backend's description.
	Description string `json:"description,omitempty"`
	// PrivateEndpoint is the model's private base URL with its explicit port, as
	// 3scale stores it.
	PrivateEndpoint string `json:"privateEndpoint"`
}

// Product is the desired product.
type Product struct {
	// Name is the product name shown in the portal.
	Name string `json:"name"`
	// Description is the product description.
	Description string `json:"description,omitempty"`
	// BackendPath is the path the backend is used at.
	BackendPath string `json:"backendPath"`
}

// Proxy holds the gateway authentication settings.
type Proxy struct {
	// CredentialsLocation is where APIcast reads the key from.
	CredentialsLocation string `json:"credentialsLocation"`
	// AuthUserKey is the name of the credential.
	AuthUserKey string `json:"authUserKey"`
}

// Policy is one entry of the policy chain.
type Policy struct {
	// Name is the policy name.
	Name string `json:"name"`
	// Version is the policy version ("builtin" for built-in policies).
	Version string `json:"version"`
	// Configuration is the policy's configuration, as JSON values.
	Configuration map[string]any `json:"configuration"`
	// Enabled turns the policy on.
	Enabled bool `json:"enabled"`
}

// Metric is a product metric.
type Metric struct {
	// SystemName is the metric's system name.
	SystemName string `json:"systemName"`
	// FriendlyName is the name shown in the admin portal.
	FriendlyName string `json:"friendlyName"`
	// Unit is the metric's unit.
	Unit string `json:"unit"`
	// Description is the metric's description.
	Description string `json:"description"`
}

// Method is a method under the hits metric.
type Method struct {
	// SystemName is the method's system name.
	SystemName string `json:"systemName"`
	// FriendlyName is the name shown in the admin portal.
	FriendlyName string `json:"friendlyName"`
}

// MappingRule maps a request to a method.
type MappingRule struct {
	// HTTPMethod is the request method.
	HTTPMethod string `json:"httpMethod"`
	// Pattern is the path pattern.
	Pattern string `json:"pattern"`
	// Metric is the system name of the method the rule increments.
	Metric string `json:"metric"`
	// Delta is the increment.
	Delta int `json:"delta"`
}

// ApplicationPlan is a desired application plan.
type ApplicationPlan struct {
	// SystemName is the plan's system name (its name in the configuration).
	SystemName string `json:"systemName"`
	// Name is the plan name shown in the portal.
	Name string `json:"name"`
	// Published makes the plan visible in the portal.
	Published bool `json:"published"`
	// ApprovalRequired makes new applications wait for an administrator.
	ApprovalRequired bool `json:"approvalRequired"`
	// SetupFee is a decimal string; empty means 0.
	SetupFee string `json:"setupFee,omitempty"`
	// CostPerMonth is a decimal string; empty means 0.
	CostPerMonth string `json:"costPerMonth,omitempty"`
	// Limits are the usage limits.
	Limits []Limit `json:"limits,omitempty"`
	// PricingRules are the pricing rules.
	PricingRules []PricingRule `json:"pricingRules,omitempty"`
}

// Limit caps a metric over a period: the configuration's limit, planned as it is.
type Limit = config.Limit

// PricingRule prices a metric's usage between Min and Max (0: no upper end).
type PricingRule struct {
	// Metric is the metric's system name.
	Metric string `json:"metric"`
	// Min is the first unit.
	Min int64 `json:"min"`
	// Max is the last unit; 0 means no upper end.
	Max int64 `json:"max,omitempty"`
	// CostPerUnit is a decimal string.
	CostPerUnit string `json:"costPerUnit"`
}

// ActiveDoc is the desired OpenAPI page, bound to the product.
type ActiveDoc struct {
	// Name is the page's name.
	Name string `json:"name"`
	// Description is the page's description.
	Description string `json:"description,omitempty"`
	// Published shows the page in the portal.
	Published bool `json:"published"`
	// Body is the OpenAPI document as JSON.
	Body string `json:"body"`
	// ServerFromEndpoint says the applier sets the document's servers to the product's
	// production endpoint, which only 3scale knows.
	ServerFromEndpoint bool `json:"serverFromEndpoint,omitempty"`
}

// Portal is the developer-portal listing intent.
type Portal struct {
	// DefaultServicePlan makes sure the product has a default service plan, which lists
	// it in the portal.
	DefaultServicePlan bool `json:"defaultServicePlan"`
	// SubscribeDeveloperAccounts subscribes the developer accounts that exist when the
	// product is first synced to its default service plan.
	SubscribeDeveloperAccounts bool `json:"subscribeDeveloperAccounts"`
}

// Gateway settings from DESIGN.md: API keys in the Authorization header, which
// accepts "Bearer <key>" as every OpenAI SDK sends it.
const (
	credentialsLocation = "authorization"
	authUserKey         = "Authorization"
	backendPath         = "/"
)

// TokenMetricNames are the token metrics, in order.
var TokenMetricNames = []string{"prompt_tokens", "completion_tokens", "total_tokens"}

// ErrInvalidOpenAPI is wrapped by Plan's error for a ConfigMap spec that is not a JSON or
// YAML object.
var ErrInvalidOpenAPI = errors.New("invalid OpenAPI document")

// Spec parses and defaults the annotations of v exactly as the webhook does.
func Spec(v View, cfg config.Config) (annotations.Spec, error) {
	s, err := annotations.Parse(v.Input())
	if err != nil {
		return s, err
	}
	return annotations.Default(s, annotations.Object{Namespace: v.Namespace, Name: v.Name, Annotations: v.Annotations}, cfg.AnnotationDefaults())
}

// Plan computes the desired 3scale state of a published model. It fails when the
// annotations are invalid (errors from pkg/annotations), when the model has no private
// URL (ErrNoPrivateURL) or when the OpenAPI ConfigMap's spec is unusable
// (ErrInvalidOpenAPI).
func Plan(v View, cfg config.Config) (Desired, error) {
	s, err := Spec(v, cfg)
	if err != nil {
		return Desired{}, err
	}
	return planSpec(v, s, cfg)
}

func planSpec(v View, s annotations.Spec, cfg config.Config) (Desired, error) {
	raw, err := v.PrivateURL(s)
	if err != nil {
		return Desired{}, err
	}
	endpoint, err := threescale.NormalizeEndpoint(raw)
	if err != nil {
		return Desired{}, fmt.Errorf("private URL: %w", err)
	}
	d := Desired{
		SystemName:     s.SystemName,
		OwnerUID:       v.UID,
		Backend:        Backend{Name: s.DisplayName, Description: s.Description, PrivateEndpoint: endpoint},
		Product:        Product{Name: s.DisplayName, Description: s.Description, BackendPath: backendPath},
		Proxy:          Proxy{CredentialsLocation: credentialsLocation, AuthUserKey: authUserKey},
		Policies:       policies(s, cfg),
		Portal:         Portal{DefaultServicePlan: true, SubscribeDeveloperAccounts: true},
		DeletionPolicy: s.DeletionPolicy,
	}
	tokens := s.TokenMetrics != nil && *s.TokenMetrics
	if tokens {
		for _, name := range TokenMetricNames {
			d.Metrics = append(d.Metrics, Metric{
				SystemName:   name,
				FriendlyName: tokenFriendlyName(name),
				Unit:         "token",
				Description:  "Counted from the usage block of successful responses",
			})
		}
	}
	routes := Routes(s.Endpoints)
	for _, r := range routes {
		name := MethodSystemName(r)
		d.Methods = append(d.Methods, Method{SystemName: name, FriendlyName: r.Method + " " + r.Path})
		d.MappingRules = append(d.MappingRules, MappingRule{HTTPMethod: r.Method, Pattern: r.Path, Metric: name, Delta: 1})
	}
	for _, name := range s.Plans {
		p, ok := cfg.Plan(name)
		if !ok {
			// Default already rejects plans the configuration lacks; this guards callers
			// that pass a configuration without plans.
			return Desired{}, fmt.Errorf("plan %q is not configured", name)
		}
		d.ApplicationPlans = append(d.ApplicationPlans, applicationPlan(p, tokens))
	}
	doc, err := activeDoc(v, s, routes)
	if err != nil {
		return Desired{}, err
	}
	d.ActiveDoc = doc
	return d, nil
}

// Routes lists the routes of the exposed families, in canonical order.
func Routes(families []string) []annotations.Route {
	var out []annotations.Route
	for _, f := range families {
		out = append(out, annotations.Routes(f)...)
	}
	return out
}

// MethodSystemName is the deterministic method name of a route:
// "POST /v1/chat/completions" -> "post_v1_chat_completions".
func MethodSystemName(r annotations.Route) string {
	path := strings.Trim(strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(r.Path), "_")
	return strings.ToLower(r.Method) + "_" + path
}

func tokenFriendlyName(name string) string {
	words := strings.Split(name, "_")
	words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	return strings.Join(words, " ")
}

func policies(s annotations.Spec, cfg config.Config) []Policy {
	headers := make([]any, 0, len(cfg.CORS.AllowHeaders))
	for _, h := range cfg.CORS.AllowHeaders {
		headers = append(headers, h)
	}
	out := []Policy{{
		Name: "cors", Version: "builtin", Enabled: true,
		Configuration: map[string]any{
			"allow_headers":     headers,
			"allow_origin":      s.CORSAllowOrigin,
			"allow_credentials": cfg.CORS.AllowCredentials,
		},
	}}
	if s.TokenMetrics != nil && *s.TokenMetrics {
		rules := make([]any, 0, len(TokenMetricNames))
		for _, m := range TokenMetricNames {
			rules = append(rules, map[string]any{
				"metric":    m,
				"increment": "{{ usage." + m + " }}",
				"condition": map[string]any{
					"combine_op": "and",
					"operations": []any{map[string]any{
						"left": "{{ status }}", "left_type": "liquid", "op": "==", "right": "200", "right_type": "plain",
					}},
				},
			})
		}
		out = append(out, Policy{
			Name: cfg.TokenMetrics.PolicyName, Version: cfg.TokenMetrics.PolicyVersion, Enabled: true,
			Configuration: map[string]any{"rules": rules},
		})
	}
	return append(out, Policy{Name: "apicast", Version: "builtin", Enabled: true, Configuration: map[string]any{}})
}

// applicationPlan maps a catalogue plan. Limits and prices on token metrics are left
// out when token metrics are off: the metrics do not exist then.
func applicationPlan(p config.Plan, tokens bool) ApplicationPlan {
	keep := func(metric string) bool { return tokens || metric == "hits" }
	out := ApplicationPlan{
		SystemName: p.Name, Name: p.DisplayName, Published: p.Published, ApprovalRequired: p.ApprovalRequired,
		SetupFee: p.SetupFee, CostPerMonth: p.CostPerMonth,
	}
	if out.Name == "" {
		out.Name = p.Name
	}
	for _, l := range p.Limits {
		if keep(l.Metric) {
			out.Limits = append(out.Limits, l)
		}
	}
	for _, r := range p.PricingRules {
		if keep(r.Metric) {
			out.PricingRules = append(out.PricingRules, PricingRule{Metric: r.Metric, Min: r.From, Max: r.To, CostPerUnit: r.PricePerUnit})
		}
	}
	return out
}

func activeDoc(v View, s annotations.Spec, routes []annotations.Route) (*ActiveDoc, error) {
	doc := &ActiveDoc{Name: s.DisplayName, Description: s.Description, Published: true}
	switch s.OpenAPI {
	case annotations.OpenAPINone:
		return nil, nil
	case "":
		body, err := GenerateOpenAPI(s.DisplayName, s.Description, routes)
		if err != nil {
			return nil, err
		}
		doc.Body, doc.ServerFromEndpoint = body, true
	default:
		js, err := yaml.YAMLToJSON([]byte(v.OpenAPISpec))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(js)), "{") {
			return nil, fmt.Errorf("ConfigMap %s/%s (%s): %w: want a JSON or YAML object", v.Namespace, s.OpenAPI, annotations.OpenAPI, ErrInvalidOpenAPI)
		}
		doc.Body = string(js)
	}
	return doc, nil
}
