package sync_test

import (
	"strings"
	"testing"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	maassync "github.com/maas-io/maas-webhook/pkg/sync"
	"github.com/maas-io/maas-webhook/pkg/threescale"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// TestLifecycle walks one chat model through registration, steady state, changes of
// plans and endpoints, drift repair and deletion.
func TestLifecycle(t *testing.T) {
	h := newHarness(t)
	h.sim.SeedAccounts("dev", 3)
	h.startManager()
	u := h.model("granite-chat.yaml", h.ns(), "", nil)
	h.create(u)
	k := key(u)
	sys := h.ns() + "-granite-3-1-8b-instruct"

	h.waitState(k, annotations.StateWaitingForModel)
	if n := h.sim.CallCount(threescalesim.AllOps); n != 0 {
		t.Fatalf("%d 3scale calls before the model is Ready, want 0: %s", n, callSummary(h.sim))
	}
	obj := h.get(k)
	if !slicesContains(obj.GetFinalizers(), annotations.Finalizer) {
		t.Errorf("finalizers = %v, want %s added by the controller (webhook bypassed)", obj.GetFinalizers(), annotations.Finalizer)
	}

	h.markReady(k)
	obj = h.waitState(k, annotations.StateSynced)
	registerCalls := h.sim.CallCount(threescalesim.AllOps)
	t.Logf("register: %d calls: %s", registerCalls, callSummary(h.sim))
	snap := h.sim.Snapshot()
	got := describe(snap, sys)
	endpoint := "https://" + sys + "-acme-apicast-production.example.com:443"
	want := simModel{
		Products: 1, Backends: 1, Name: "Granite 3.1 8B Instruct",
		Owner:           map[string]string{threescale.AnnotationManagedBy: threescale.ManagedByValue, threescale.AnnotationUID: string(obj.GetUID())},
		PrivateEndpoint: "http://granite-3-1-8b-instruct-predictor." + h.ns() + ".svc.cluster.local:80",
		Usages:          []string{"/ own=true"},
		Auth:            []string{"authorization", "Authorization"},
		Policies:        []string{"cors", "llm-metrics", "apicast"},
		CORS: map[string]any{
			"allow_credentials": true, "allow_origin": "*",
			"allow_headers": []any{"Authorization", "Content-Type", "Accept"},
		},
		Metrics: []string{"completion_tokens", "hits", "prompt_tokens", "total_tokens"},
		Methods: []string{"get_v1_models", "post_v1_chat_completions", "post_v1_completions", "post_v1_embeddings"},
		Rules: []string{
			"GET /v1/models -> get_v1_models +1",
			"POST /v1/chat/completions -> post_v1_chat_completions +1",
			"POST /v1/completions -> post_v1_completions +1",
			"POST /v1/embeddings -> post_v1_embeddings +1",
		},
		Plans: []string{`basic "Basic" published approval=false month=0 {hits/minute=60 total_tokens/day=100000}`},
		Docs: []string{"Granite 3.1 8B Instruct published=true bound=true servers=[" + endpoint + "] " +
			"paths=[/v1/chat/completions /v1/completions /v1/embeddings /v1/models]"},
		StagingVersion: got.StagingVersion, ProductionVersion: got.StagingVersion,
		Subscribed: []string{"dev-1", "dev-2", "dev-3"},
		Endpoint:   endpoint,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("3scale after registration (-want +got):\n%s", diff)
	}
	if got.StagingVersion == 0 {
		t.Error("no staging configuration")
	}
	a := obj.GetAnnotations()
	if diff := cmp.Diff(endpoint, a[annotations.StatusEndpoint]); diff != "" {
		t.Errorf("status endpoint (-want +got):\n%s", diff)
	}
	if obj.GetLabels()[annotations.State] != annotations.StateSynced {
		t.Errorf("state label = %q, want Synced", obj.GetLabels()[annotations.State])
	}
	h.waitEvent(k, maassync.ReasonSynced, "created product")

	// Steady state: a reconcile of an unchanged object makes no call.
	h.sim.ResetRequests()
	h.touch(k)
	h.touch(k)
	if n := h.sim.CallCount(threescalesim.AllOps); n != 0 {
		t.Errorf("unchanged object: %d 3scale calls, want 0: %s", n, callSummary(h.sim))
	}

	// Adding a plan applies only the plan.
	h.sim.ResetRequests()
	hash := a[annotations.StatusAppliedHash]
	h.annotate(k, map[string]string{annotations.Plans: "basic,premium"})
	obj = h.waitSyncedWith(k, hash)
	t.Logf("add plan: %d calls: %s", h.sim.CallCount(threescalesim.AllOps), callSummary(h.sim))
	wantCalls := map[threescalesim.CallKey]int{
		{Op: "service_metrics.list", Method: "GET"}:      1,
		{Op: "application_plans.list", Method: "GET"}:    1,
		{Op: "application_plans.create", Method: "POST"}: 1,
		{Op: "limits.create", Method: "POST"}:            2,
		{Op: "pricing_rules.create", Method: "POST"}:     1,
	}
	if diff := cmp.Diff(wantCalls, h.sim.Calls()); diff != "" {
		t.Errorf("calls to add a plan (-want +got):\n%s", diff)
	}
	got = describe(h.sim.Snapshot(), sys)
	if diff := cmp.Diff([]string{
		`basic "Basic" published approval=false month=0 {hits/minute=60 total_tokens/day=100000}`,
		`premium "Premium" published approval=true month=49 {hits/minute=600 total_tokens/month=50000000 total_tokens[1000001-0]@0.0002}`,
	}, got.Plans); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}

	// Narrowing the endpoints changes the rules, the methods, the gateway and the docs.
	h.sim.ResetRequests()
	hash = obj.GetAnnotations()[annotations.StatusAppliedHash]
	h.annotate(k, map[string]string{annotations.Endpoints: "chat,models"})
	h.waitSyncedWith(k, hash)
	t.Logf("narrow endpoints: %d calls: %s", h.sim.CallCount(threescalesim.AllOps), callSummary(h.sim))
	got = describe(h.sim.Snapshot(), sys)
	if diff := cmp.Diff([]string{"get_v1_models", "post_v1_chat_completions"}, got.Methods); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GET /v1/models -> get_v1_models +1", "POST /v1/chat/completions -> post_v1_chat_completions +1"}, got.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if got.StagingVersion != got.ProductionVersion {
		t.Errorf("staging version %d, production %d: want equal", got.StagingVersion, got.ProductionVersion)
	}
	if !strings.Contains(got.Docs[0], "paths=[/v1/chat/completions /v1/models]") {
		t.Errorf("docs = %v, want the two paths", got.Docs)
	}
	if n := h.sim.CallCount("application_plans.list") + h.sim.CallCount("policies.read") + h.sim.CallCount("backend_apis.read"); n != 0 {
		t.Errorf("narrowing endpoints read unrelated sections (%d calls): %s", n, callSummary(h.sim))
	}

	// A hand-made change is repaired by the drift check.
	obj = h.get(k)
	pid := obj.GetAnnotations()[annotations.StatusProductID]
	breakPolicies(t, h, pid)
	h.sim.ResetRequests()
	h.clock.Step(h.cfg.ResyncPeriod.Duration * 2)
	h.touch(k)
	h.waitEvent(k, maassync.ReasonDriftRepaired, "policy chain")
	t.Logf("drift check: %d calls: %s", h.sim.CallCount(threescalesim.AllOps), callSummary(h.sim))
	got = describe(h.sim.Snapshot(), sys)
	if diff := cmp.Diff([]string{"cors", "llm-metrics", "apicast"}, got.Policies); diff != "" {
		t.Errorf("policies after drift check (-want +got):\n%s", diff)
	}
	if got.StagingVersion != got.ProductionVersion {
		t.Errorf("after repair: staging version %d, production %d", got.StagingVersion, got.ProductionVersion)
	}

	// Deletion removes everything and then the finalizer.
	if err := h.c.Delete(h.ctx, obj); err != nil {
		t.Fatal(err)
	}
	h.waitGone(k)
	snap = h.sim.Snapshot()
	if diff := cmp.Diff([]string(nil), liveProducts(snap)); diff != "" {
		t.Errorf("products after deletion (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), liveBackends(snap)); diff != "" {
		t.Errorf("backends after deletion (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), docNames(snap)); diff != "" {
		t.Errorf("ActiveDocs after deletion (-want +got):\n%s", diff)
	}
}

// breakPolicies replaces a product's policy chain by hand, as an administrator would in
// the admin portal.
func breakPolicies(t *testing.T, h *harness, productID string) {
	t.Helper()
	tsc, err := threescale.New(h.ctx, threescale.Options{AdminURL: h.ts.URL, Token: h.sim.Token()})
	if err != nil {
		t.Fatal(err)
	}
	id := mustInt(t, productID)
	chain := []porta.PolicyConfig{{Name: "apicast", Version: "builtin", Configuration: map[string]any{}, Enabled: true}}
	if _, err := tsc.UpdatePolicies(h.ctx, id, chain); err != nil {
		t.Fatal(err)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not an id: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func slicesContains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}
