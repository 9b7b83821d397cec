package threescalesim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/google/go-cmp/cmp"

	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

type rawResponse struct {
	Status   int
	Body     string
	Location bool
}

func do(t *testing.T, method, rawURL, contentType, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{Status: resp.StatusCode, Body: strings.TrimSpace(string(b)), Location: resp.Header.Get("Location") != ""}
}

func TestProtocol(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	tok := "access_token=" + sim.Token()
	apiID := strconv.FormatInt(sim.Snapshot().Services[0].ID, 10)
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, ct, body string
		want                         rawResponse
		contains                     string
	}{
		{"xml on a JSON-only endpoint", "GET", "/admin/api/backend_apis.xml?" + tok, "", "", rawResponse{Status: 406}, ""},
		{"xml services list", "GET", "/admin/api/services.xml?" + tok, "", "", rawResponse{Status: 200}, "<services><service>"},
		{"no token", "GET", "/admin/api/services.json", "", "", rawResponse{Status: 403, Body: `{"error":"Access denied"}`}, ""},
		{"wrong token", "GET", "/admin/api/services.json?access_token=nope", "", "", rawResponse{Status: 403, Body: `{"error":"Access denied"}`}, ""},
		{"not found", "GET", "/admin/api/services/1.json?" + tok, "", "", rawResponse{Status: 404, Body: `{"status":"Not found"}`}, ""},
		{"unrouted", "GET", "/admin/api/nothing.json?" + tok, "", "", rawResponse{Status: 404, Body: `{"status":"Not found"}`}, ""},
		{"missing parameter", "POST", "/admin/api/services.json", form, tok, rawResponse{Status: 400, Body: "Required parameter missing: service"}, ""},
		{"wrapped form create", "POST", "/admin/api/services.json", form, tok + "&service[name]=Wrapped&service[system_name]=wrapped&unknown=1",
			rawResponse{Status: 201, Location: true}, `"system_name":"wrapped"`},
		{"wrapped JSON create", "POST", "/admin/api/services.json?" + tok, "application/json", `{"service":{"name":"Json","system_name":"json"}}`,
			rawResponse{Status: 201, Location: true}, `"system_name":"json"`},
		{"malformed system name", "POST", "/admin/api/services.json", form, tok + "&name=x&system_name=bad%20name",
			rawResponse{Status: 422, Body: `{"errors":{"system_name":["invalid"]}}`}, ""},
		{"duplicate system name xml", "POST", "/admin/api/services.xml", form, tok + "&name=API&system_name=api",
			rawResponse{Status: 422}, "<error>System name has already been taken</error>"},
		{"bad environment", "GET", "/admin/api/services/" + apiID + "/proxy/configs/qa.json?" + tok, "", "", rawResponse{Status: 400, Body: `{"error":"invalid environment"}`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, tt.method, ts.URL+tt.path, tt.ct, tt.body)
			if tt.contains != "" {
				if !strings.Contains(got.Body, tt.contains) {
					t.Errorf("body %q does not contain %q", got.Body, tt.contains)
				}
				got.Body = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	sim.SeedAccounts("dev", 7)
	type meta struct {
		PerPage, TotalEntries, TotalPages, CurrentPage int
	}
	tests := []struct {
		query     string
		wantCount int
		wantMeta  *meta
	}{
		{"per_page=3&page=3", 1, &meta{3, 7, 3, 3}},
		{"per_page=0", 7, nil},
		{"per_page=501", 7, nil},
		{"per_page=junk&page=-1", 7, nil},
		{"page=9&per_page=5", 0, &meta{5, 7, 2, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := do(t, "GET", ts.URL+"/admin/api/accounts.json?access_token="+sim.Token()+"&"+tt.query, "", "")
			var body struct {
				Accounts []json.RawMessage `json:"accounts"`
				Metadata *struct {
					PerPage      int `json:"per_page"`
					TotalEntries int `json:"total_entries"`
					TotalPages   int `json:"total_pages"`
					CurrentPage  int `json:"current_page"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(got.Body), &body); err != nil {
				t.Fatal(err)
			}
			var gotMeta *meta
			if m := body.Metadata; m != nil {
				gotMeta = &meta{m.PerPage, m.TotalEntries, m.TotalPages, m.CurrentPage}
			}
			if diff := cmp.Diff(tt.wantCount, len(body.Accounts)); diff != "" {
				t.Errorf("count (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMeta, gotMeta); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
}

func newPorta(t *testing.T, ts string, token string) *porta.ThreeScaleClient {
	t.Helper()
	ap, err := porta.NewAdminPortalFromStr(ts)
	if err != nil {
		t.Fatal(err)
	}
	return porta.NewThreeScale(ap, token, nil)
}

func TestStatefulBehaviour(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{Clock: func() time.Time { return now }, PurgeAfter: time.Hour})
	pc := newPorta(t, ts.URL, sim.Token())

	prod, err := pc.CreateProduct("My Model", porta.Params{"system_name": "my_model"})
	if err != nil {
		t.Fatal(err)
	}
	id := prod.Element.ID
	proxy, err := pc.ProductProxy(id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{
		"https://my-model-acme-apicast-staging.example.com:443",
		"https://my-model-acme-apicast-production.example.com:443",
	}, []string{proxy.Element.SandboxEndpoint, proxy.Element.Endpoint}); diff != "" {
		t.Errorf("default endpoints (-want +got):\n%s", diff)
	}
	rules, err := pc.ListProductMappingRules(id)
	if err != nil || len(rules.MappingRules) != 1 || rules.MappingRules[0].Element.Pattern != "/" {
		t.Errorf("default mapping rule = %+v, %v; want GET /", rules, err)
	}
	metrics, err := pc.ListProductMetrics(id)
	if err != nil || len(metrics.Metrics) != 1 || metrics.Metrics[0].Element.SystemName != "hits" {
		t.Errorf("default metrics = %+v, %v; want hits", metrics, err)
	}

	// Deploy without a backend creates no configuration; with one it creates v1,
	// and only a change creates v2.
	if _, err := pc.DeployProductProxy(id); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.GetLatestProxyConfig(itoa(id), "sandbox"); !porta.IsNotFound(err) {
		t.Errorf("latest without backend: err = %v, want 404", err)
	}
	be, err := pc.CreateBackendApi(porta.Params{"name": "be", "private_endpoint": "http://model.ns.svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateBackendapiUsage(id, porta.Params{"backend_api_id": itoa(be.Element.ID), "path": ""}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := pc.DeployProductProxy(id); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := pc.GetLatestProxyConfig(itoa(id), "sandbox")
	if err != nil || latest.ProxyConfig.Version != 1 {
		t.Errorf("latest after two identical deploys = %+v, %v; want version 1", latest.ProxyConfig.Version, err)
	}
	if _, err := pc.PromoteProxyConfig(itoa(id), "sandbox", "1", "production"); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.PromoteProxyConfig(itoa(id), "sandbox", "1", "production"); err == nil {
		t.Error("promoting the same version twice succeeded")
	}
	// The hits metric is used by the live configuration.
	if err := pc.DeleteProductMetric(id, metrics.Metrics[0].Element.ID); !porta.IsForbidden(err) {
		t.Errorf("delete hits: err = %v, want 403", err)
	}

	// Policy chain: apicast appended.
	chain, err := pc.UpdatePolicies(id, &porta.PoliciesConfigList{Policies: []porta.PolicyConfig{{Name: "cors", Version: "builtin", Configuration: map[string]any{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(2, len(chain.Policies)); diff != "" || chain.Policies[1].Name != "apicast" {
		t.Errorf("chain = %+v, want cors then apicast", chain.Policies)
	}

	// Limits are unique per metric and period.
	plan, err := pc.CreateApplicationPlan(id, porta.Params{"name": "basic"})
	if err != nil {
		t.Fatal(err)
	}
	limit := porta.Params{"period": "minute", "value": "10"}
	if _, err := pc.CreateApplicationPlanLimit(plan.Element.ID, metrics.Metrics[0].Element.ID, limit); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateApplicationPlanLimit(plan.Element.ID, metrics.Metrics[0].Element.ID, limit); err == nil || !strings.Contains(err.Error(), "has already been taken") {
		t.Errorf("duplicate limit: err = %v", err)
	}

	// Soft delete keeps the system name taken until purge.
	if _, err := pc.CreateProduct("Other", porta.Params{"system_name": "other"}); err != nil {
		t.Fatal(err)
	}
	if err := pc.DeleteProduct(id); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Product(id); !porta.IsNotFound(err) {
		t.Errorf("read deleted: err = %v, want 404", err)
	}
	if _, err := pc.CreateProduct("Again", porta.Params{"system_name": "my_model"}); err == nil {
		t.Error("re-create right after delete succeeded, want system_name taken")
	}
	now = now.Add(2 * time.Hour)
	if _, err := pc.CreateProduct("Again", porta.Params{"system_name": "my_model"}); err != nil {
		t.Errorf("re-create after purge: %v", err)
	}
}

func TestKnobs(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	pc := newPorta(t, ts.URL, sim.Token())
	sim.Script("services.list", threescalesim.Fault503, threescalesim.Fault{}, threescalesim.Fault429(7))
	var codes []int
	for range 4 {
		_, err := pc.ListProducts()
		code := 200
		if ae, ok := err.(porta.ApiErr); ok {
			code = ae.Code()
		}
		codes = append(codes, code)
	}
	if diff := cmp.Diff([]int{503, 200, 429, 200}, codes); diff != "" {
		t.Errorf("scripted statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[threescalesim.CallKey]int{{Op: "services.list", Method: "GET"}: 4}, sim.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	sim.SetFaultProbability(threescalesim.AllOps, 1, threescalesim.Fault500)
	if _, err := pc.ListBackendApis(); err == nil {
		t.Error("probability 1 fault did not fire")
	}
	sim.ResetKnobs()
	if _, err := pc.ListBackendApis(); err != nil {
		t.Errorf("after reset: %v", err)
	}
	form := url.Values{"access_token": {sim.Token()}, "plan_id": {"1"}}
	if got := do(t, "POST", ts.URL+"/admin/api/accounts/1/service_subscriptions.json", "application/x-www-form-urlencoded", form.Encode()); got.Status != 404 {
		t.Errorf("subscription for a missing account: status %d, want 404", got.Status)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
