package threescale_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/threescale"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// fastOptions are test options: no noticeable backoff, no rate limit.
func fastOptions(ts *httptest.Server, token string) threescale.Options {
	return threescale.Options{
		AdminURL: ts.URL, Token: token, QPS: 10000, Burst: 10000,
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	}
}

func newClient(t *testing.T, opts threescale.Options) *threescale.Client {
	t.Helper()
	c, err := threescale.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// exerciseAll drives every client operation once along the path the sync
// controller takes for one model, and checks the key outcomes. The conformance
// test reuses it to record what the client sends.
func exerciseAll(t *testing.T, c *threescale.Client, sim *threescalesim.Server) {
	t.Helper()
	ctx := context.Background()
	const uid = "0b0e-uid"
	var err error

	be, err := c.CreateBackend(ctx, threescale.WithOwnership(porta.Params{
		"name": "Llama", "system_name": "ns-llama", "private_endpoint": "https://llama.ns.svc",
	}, uid))
	check(t, err)
	if diff := cmp.Diff("https://llama.ns.svc:443", be.PrivateEndpoint); diff != "" {
		t.Errorf("private endpoint (-want +got):\n%s", diff)
	}
	if !threescale.IsOwnedBy(be.Annotations, uid) {
		t.Errorf("backend annotations = %v, want ownership for %s", be.Annotations, uid)
	}
	found, err := c.FindBackend(ctx, "ns-llama")
	check(t, err)
	_, err = c.Backend(ctx, found.ID)
	check(t, err)
	_, err = c.UpdateBackend(ctx, be.ID, porta.Params{"description": "model"})
	check(t, err)
	bMetrics, err := c.ListBackendMetrics(ctx, be.ID)
	check(t, err)
	if diff := cmp.Diff([]string{"hits"}, systemNames(bMetrics)); diff != "" {
		t.Errorf("backend metrics (-want +got):\n%s", diff)
	}
	bm, err := c.CreateBackendMetric(ctx, be.ID, porta.Params{"friendly_name": "Tokens", "system_name": "tokens", "unit": "token"})
	check(t, err)
	_, err = c.UpdateBackendMetric(ctx, be.ID, bm.ID, porta.Params{"description": "d"})
	check(t, err)
	bMethod, err := c.CreateBackendMethod(ctx, be.ID, bMetrics[0].ID, porta.Params{"friendly_name": "Chat", "system_name": "chat"})
	check(t, err)
	if diff := cmp.Diff("chat", bMethod.SystemName); diff != "" {
		t.Errorf("backend method system name (-want +got):\n%s", diff)
	}
	_, err = c.ListBackendMethods(ctx, be.ID, bMetrics[0].ID)
	check(t, err)
	_, err = c.UpdateBackendMethod(ctx, be.ID, bMetrics[0].ID, bMethod.ID, porta.Params{"description": "d"})
	check(t, err)
	check(t, c.DeleteBackendMethod(ctx, be.ID, bMetrics[0].ID, bMethod.ID))
	check(t, c.DeleteBackendMetric(ctx, be.ID, bm.ID))

	prod, err := c.CreateProduct(ctx, "Llama", threescale.WithOwnership(porta.Params{"system_name": "ns-llama"}, uid))
	check(t, err)
	if !threescale.IsOwnedBy(prod.Annotations, uid) {
		t.Errorf("product annotations = %v, want ownership", prod.Annotations)
	}
	_, err = c.FindProduct(ctx, "ns-llama")
	check(t, err)
	_, err = c.Product(ctx, prod.ID)
	check(t, err)
	_, err = c.UpdateProduct(ctx, prod.ID, porta.Params{"description": "A model"})
	check(t, err)
	usage, err := c.CreateBackendUsage(ctx, prod.ID, be.ID, "/")
	check(t, err)
	usages, err := c.ListBackendUsages(ctx, prod.ID)
	check(t, err)
	if diff := cmp.Diff([]porta.BackendAPIUsageItem{{ID: usage.ID, Path: "/", ProductID: prod.ID, BackendAPIID: be.ID}}, usages); diff != "" {
		t.Errorf("backend usages (-want +got):\n%s", diff)
	}

	proxy, err := c.Proxy(ctx, prod.ID)
	check(t, err)
	if diff := cmp.Diff("https://ns-llama-acme-apicast-production.example.com:443", proxy.Endpoint); diff != "" {
		t.Errorf("default production endpoint (-want +got):\n%s", diff)
	}
	proxy, err = c.UpdateProxy(ctx, prod.ID, porta.Params{
		"credentials_location": "authorization", "auth_user_key": "Authorization",
		"sandbox_endpoint": "https://staging.example.com",
	})
	check(t, err)
	if diff := cmp.Diff([]string{"authorization", "https://staging.example.com:443"}, []string{proxy.CredentialsLocation, proxy.SandboxEndpoint}); diff != "" {
		t.Errorf("updated proxy (-want +got):\n%s", diff)
	}
	chain, err := c.UpdatePolicies(ctx, prod.ID, []porta.PolicyConfig{
		{Name: "cors", Version: "builtin", Configuration: map[string]any{"allow_origin": "*"}, Enabled: true},
	})
	check(t, err)
	if diff := cmp.Diff([]string{"cors", "apicast"}, policyNames(chain)); diff != "" {
		t.Errorf("policy chain (-want +got):\n%s", diff)
	}
	_, err = c.Policies(ctx, prod.ID)
	check(t, err)

	metrics, err := c.ListProductMetrics(ctx, prod.ID)
	check(t, err)
	hits := metrics[0]
	pm, err := c.CreateProductMetric(ctx, prod.ID, porta.Params{"friendly_name": "Prompt tokens", "system_name": "prompt_tokens", "unit": "token"})
	check(t, err)
	_, err = c.UpdateProductMetric(ctx, prod.ID, pm.ID, porta.Params{"description": "d"})
	check(t, err)
	method, err := c.CreateProductMethod(ctx, prod.ID, hits.ID, porta.Params{"friendly_name": "Chat completions", "system_name": "chat_completions"})
	check(t, err)
	_, err = c.ListProductMethods(ctx, prod.ID, hits.ID)
	check(t, err)
	_, err = c.UpdateProductMethod(ctx, prod.ID, hits.ID, method.ID, porta.Params{"description": "d"})
	check(t, err)
	rule, err := c.CreateMappingRule(ctx, prod.ID, porta.Params{
		"http_method": "POST", "pattern": "/v1/chat/completions$", "delta": "1", "metric_id": itoa(method.ID),
	})
	check(t, err)
	_, err = c.UpdateMappingRule(ctx, prod.ID, rule.ID, porta.Params{"last": "true"})
	check(t, err)
	rules, err := c.ListMappingRules(ctx, prod.ID)
	check(t, err)
	if len(rules) != 2 {
		t.Errorf("mapping rules = %d, want the default GET / and ours", len(rules))
	}

	plan, err := c.CreateApplicationPlan(ctx, prod.ID, porta.Params{"name": "Basic", "system_name": "basic", "cost_per_month": "10"})
	check(t, err)
	plan, err = c.PublishApplicationPlan(ctx, prod.ID, plan.ID)
	check(t, err)
	if diff := cmp.Diff("published", plan.State); diff != "" {
		t.Errorf("plan state (-want +got):\n%s", diff)
	}
	_, err = c.UpdateApplicationPlan(ctx, prod.ID, plan.ID, porta.Params{"setup_fee": "1.5"})
	check(t, err)
	_, err = c.ListApplicationPlans(ctx, prod.ID)
	check(t, err)
	limit, err := c.CreateLimit(ctx, plan.ID, pm.ID, "minute", 1000)
	check(t, err)
	_, err = c.UpdateLimit(ctx, plan.ID, pm.ID, limit.ID, porta.Params{"value": "2000"})
	check(t, err)
	limits, err := c.ListLimits(ctx, plan.ID)
	check(t, err)
	if diff := cmp.Diff(2000, limits[0].Value); diff != "" {
		t.Errorf("limit value (-want +got):\n%s", diff)
	}
	pr, err := c.CreatePricingRule(ctx, plan.ID, pm.ID, porta.Params{"min": "1", "max": "100", "cost_per_unit": "0.01"})
	check(t, err)
	_, err = c.ListPricingRules(ctx, plan.ID)
	check(t, err)
	check(t, c.DeletePricingRule(ctx, plan.ID, pm.ID, pr.ID))
	check(t, c.DeleteLimit(ctx, plan.ID, pm.ID, limit.ID))

	published := true
	doc, err := c.CreateActiveDoc(ctx, porta.ActiveDocItem{
		Name: ptr("Llama"), SystemName: ptr("ns-llama"), Body: ptr(`{"openapi":"3.0.0"}`),
		Published: &published, ServiceID: &prod.ID,
	})
	check(t, err)
	_, err = c.UpdateActiveDoc(ctx, porta.ActiveDocItem{ID: doc.ID, Description: ptr("docs")})
	check(t, err)
	_, err = c.ListActiveDocs(ctx)
	check(t, err)

	_, err = c.DeployStaging(ctx, prod.ID)
	check(t, err)
	staging, err := c.LatestProxyConfig(ctx, prod.ID, threescale.EnvStaging)
	check(t, err)
	promoted, err := c.PromoteToProduction(ctx, prod.ID, staging.Version)
	check(t, err)
	production, err := c.LatestProxyConfig(ctx, prod.ID, threescale.EnvProduction)
	check(t, err)
	if diff := cmp.Diff([]int{staging.Version, staging.Version}, []int{promoted.Version, production.Version}); diff != "" {
		t.Errorf("promoted version (-want +got):\n%s", diff)
	}

	plans, err := c.ListServicePlans(ctx, prod.ID)
	check(t, err)
	_, err = c.SetDefaultServicePlan(ctx, prod.ID, plans[0].ID)
	check(t, err)
	accounts, err := c.ListDeveloperAccounts(ctx)
	check(t, err)
	sub, err := c.CreateServiceSubscription(ctx, *accounts[0].ID, plans[0].ID)
	check(t, err)
	subs, err := c.ListServiceSubscriptions(ctx, *accounts[0].ID)
	check(t, err)
	if diff := cmp.Diff([]threescale.ServiceSubscription{*sub}, subs); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}

	_, err = c.ProviderAccount(ctx)
	check(t, err)
	provider, err := c.UpdateProviderAccount(ctx, porta.Params{"site_access_code": ""})
	check(t, err)
	if provider.SiteAccessCode != "" {
		t.Errorf("site_access_code = %q, want it removed", provider.SiteAccessCode)
	}
	_, err = c.Settings(ctx)
	check(t, err)
	settings, err := c.UpdateSettings(ctx, porta.Params{"public_search": "true"})
	check(t, err)
	if !settings.PublicSearch {
		t.Error("public_search not updated")
	}
	ap, err := c.CreateAuthenticationProvider(ctx, porta.Params{
		"kind": "keycloak", "name": "Red Hat SSO", "client_id": "3scale", "client_secret": "s3cr3t",
		"site": "https://sso.example.com/auth/realms/maas", "published": "true", "automatically_approve_accounts": "true",
	})
	check(t, err)
	_, err = c.UpdateAuthenticationProvider(ctx, ap.ID, porta.Params{"client_secret": "rotated"})
	check(t, err)
	aps, err := c.ListAuthenticationProviders(ctx)
	check(t, err)
	if diff := cmp.Diff([]string{"keycloak"}, []string{aps[0].Kind}); diff != "" {
		t.Errorf("authentication providers (-want +got):\n%s", diff)
	}

	// Teardown in the order the controller deprovisions.
	check(t, c.DeleteActiveDoc(ctx, *doc.ID))
	check(t, c.DeleteApplicationPlan(ctx, prod.ID, plan.ID))
	check(t, c.DeleteMappingRule(ctx, prod.ID, rule.ID))
	// The method stays in use until a configuration without its rule is live.
	if err := c.DeleteProductMethod(ctx, prod.ID, hits.ID, method.ID); !errors.Is(err, threescale.ErrForbidden) {
		t.Errorf("DeleteProductMethod in use: err = %v, want ErrForbidden", err)
	}
	_, err = c.DeployStaging(ctx, prod.ID)
	check(t, err)
	next, err := c.LatestProxyConfig(ctx, prod.ID, threescale.EnvStaging)
	check(t, err)
	if diff := cmp.Diff(staging.Version+1, next.Version); diff != "" {
		t.Errorf("staging version after a change (-want +got):\n%s", diff)
	}
	_, err = c.PromoteToProduction(ctx, prod.ID, next.Version)
	check(t, err)
	check(t, c.DeleteProductMethod(ctx, prod.ID, hits.ID, method.ID))
	check(t, c.DeleteProductMetric(ctx, prod.ID, pm.ID))
	check(t, c.DeleteBackendUsage(ctx, prod.ID, usage.ID))
	check(t, c.DeleteProduct(ctx, prod.ID))
	check(t, c.DeleteBackend(ctx, be.ID))
	if n := len(sim.Snapshot().Backends); n != 1 {
		t.Errorf("backends after soft delete = %d, want 1 (kept until purge)", n)
	}
}

func TestClientAllOperations(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	sim.SeedAccounts("dev", 2)
	exerciseAll(t, newClient(t, fastOptions(ts, sim.Token())), sim)
}

func systemNames(ms []porta.MetricItem) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.SystemName)
	}
	return out
}

func policyNames(ps []porta.PolicyConfig) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
