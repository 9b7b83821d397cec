package sync_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	maassync "github.com/maas-io/maas-webhook/pkg/sync"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// TestSystemNameCollision: the second of two models with the same system name gets
// Error and writes nothing; the first stays as it was, also after the second is deleted.
func TestSystemNameCollision(t *testing.T) {
	h := newHarness(t)
	h.startManager()
	first := h.model("granite-chat.yaml", h.ns(), "first", map[string]string{annotations.SystemName: "shared-model"})
	h.create(first)
	h.markReady(key(first))
	h.waitState(key(first), annotations.StateSynced)
	before := describe(h.sim.Snapshot(), "shared-model")

	h.sim.ResetRequests()
	second := h.model("code-model.yaml", h.ns(), "second", map[string]string{annotations.SystemName: "shared-model"})
	h.create(second)
	h.markReady(key(second))
	obj := h.waitState(key(second), annotations.StateError)
	if diff := cmp.Diff("product shared-model exists and is not managed by maas-webhook", obj.GetAnnotations()[annotations.StatusMessage]); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	h.waitEvent(key(second), maassync.ReasonSyncFailed, "not managed by maas-webhook")
	if n := writes(h.sim); n != 1 {
		t.Errorf("%d writes, want only the refused create: %s", n, callSummary(h.sim))
	}
	// No retry loop: the error needs a person.
	h.sim.ResetRequests()
	h.touch(key(second))
	if n := h.sim.CallCount(threescalesim.AllOps); n > 2 {
		t.Errorf("a reconcile of the refused object made %d calls: %s", n, callSummary(h.sim))
	}

	if err := h.c.Delete(h.ctx, obj); err != nil {
		t.Fatal(err)
	}
	h.waitGone(key(second))
	if diff := cmp.Diff(before, describe(h.sim.Snapshot(), "shared-model")); diff != "" {
		t.Errorf("first model's objects changed (-want +got):\n%s", diff)
	}
}

// TestOrphanAndForceRemove: deletion-policy orphan keeps the 3scale objects; force-remove
// drops the finalizer without calling 3scale.
func TestOrphanAndForceRemove(t *testing.T) {
	h := newHarness(t)
	h.startManager()
	emb := h.model("embeddings.yaml", h.ns(), "", nil)
	h.create(emb)
	h.markReady(key(emb))
	h.waitState(key(emb), annotations.StateSynced)
	sys := h.ns() + "-nomic-embed"
	got := describe(h.sim.Snapshot(), sys)
	if diff := cmp.Diff([]string{"GET /v1/models -> get_v1_models +1", "POST /v1/embeddings -> post_v1_embeddings +1"}, got.Rules); diff != "" {
		t.Errorf("embedding model rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cors", "apicast"}, got.Policies); diff != "" {
		t.Errorf("embedding model policies, token metrics off (-want +got):\n%s", diff)
	}
	if err := h.c.Delete(h.ctx, h.get(key(emb))); err != nil {
		t.Fatal(err)
	}
	h.waitGone(key(emb))
	if diff := cmp.Diff([]string{sys}, liveProducts(h.sim.Snapshot())); diff != "" {
		t.Errorf("orphan: products (-want +got):\n%s", diff)
	}

	chat := h.model("granite-chat.yaml", h.ns(), "", nil)
	h.create(chat)
	h.markReady(key(chat))
	h.waitState(key(chat), annotations.StateSynced)
	h.annotate(key(chat), map[string]string{annotations.ForceRemove: "true"})
	h.sim.ResetRequests()
	if err := h.c.Delete(h.ctx, h.get(key(chat))); err != nil {
		t.Fatal(err)
	}
	h.waitGone(key(chat))
	if n := h.sim.CallCount(threescalesim.AllOps); n != 0 {
		t.Errorf("force-remove made %d calls: %s", n, callSummary(h.sim))
	}
}

// TestDeletionWhile3scaleDown: while 3scale fails, the object keeps its finalizer and
// reports Deprovisioning; when 3scale is back, everything is removed.
func TestDeletionWhile3scaleDown(t *testing.T) {
	h := newHarness(t)
	h.startManager()
	u := h.model("granite-chat.yaml", h.ns(), "", nil)
	h.create(u)
	h.markReady(key(u))
	h.waitState(key(u), annotations.StateSynced)

	h.sim.SetFaultProbability(threescalesim.AllOps, 1, threescalesim.Fault503)
	if err := h.c.Delete(h.ctx, h.get(key(u))); err != nil {
		t.Fatal(err)
	}
	obj := h.waitState(key(u), annotations.StateDeprovisioning)
	if !slices.Contains(obj.GetFinalizers(), annotations.Finalizer) || obj.GetDeletionTimestamp() == nil {
		t.Fatalf("finalizers %v, deletion %v: want the finalizer kept on a terminating object", obj.GetFinalizers(), obj.GetDeletionTimestamp())
	}
	if msg := obj.GetAnnotations()[annotations.StatusMessage]; !strings.Contains(msg, "503") {
		t.Errorf("message %q does not give the reason", msg)
	}
	h.waitEvent(key(u), maassync.ReasonDeprovisionFail, "503")
	h.sim.ResetKnobs()
	h.waitGone(key(u))
	snap := h.sim.Snapshot()
	if len(liveProducts(snap))+len(liveBackends(snap))+len(docNames(snap)) != 0 {
		t.Errorf("left in 3scale: products %v backends %v docs %v", liveProducts(snap), liveBackends(snap), docNames(snap))
	}
}

// TestBadInput: invalid annotations (webhook bypassed) and a configuration 3scale
// rejects give Error with the reason, a Warning, and no retry loop.
func TestBadInput(t *testing.T) {
	h := newHarness(t)
	h.startManager()
	bad := h.model("invalid.yaml", h.ns(), "", nil)
	h.create(bad)
	obj := h.waitState(key(bad), annotations.StateError)
	if msg := obj.GetAnnotations()[annotations.StatusMessage]; !strings.Contains(msg, annotations.Expose) || !strings.Contains(msg, annotations.SystemName) {
		t.Errorf("message %q does not name both bad keys", msg)
	}
	h.waitEvent(key(bad), maassync.ReasonInvalid, annotations.Expose)
	h.touch(key(bad))
	if n := h.sim.CallCount(threescalesim.AllOps); n != 0 {
		t.Errorf("invalid object: %d 3scale calls", n)
	}

	// 3scale keeps 4 decimals of a price (pkg/config refuses more; this configuration
	// is built past that check): the premium price is refused with a 422 whose field
	// message is reported.
	cfgBad := newHarness(t, "prices")
	cfgBad.cfg = loadExampleConfig(t)
	premium := slices.IndexFunc(cfgBad.cfg.Plans, func(p config.Plan) bool { return p.Name == "premium" })
	cfgBad.cfg.Plans[premium].PricingRules[0].PricePerUnit = "0.000002"
	cfgBad.startManager()
	code := cfgBad.model("code-model.yaml", cfgBad.ns(), "", nil)
	cfgBad.create(code)
	cfgBad.markReady(key(code))
	obj = cfgBad.waitState(key(code), annotations.StateError)
	if msg := obj.GetAnnotations()[annotations.StatusMessage]; !strings.Contains(msg, "cost_per_unit: is not a number") {
		t.Errorf("message %q does not carry 3scale's field message", msg)
	}
	cfgBad.sim.ResetRequests()
	cfgBad.touch(key(code))
	if n := cfgBad.sim.CallCount(threescalesim.AllOps); n != 0 {
		t.Errorf("refused object: %d 3scale calls on an unrelated change", n)
	}
}

// checkConverged asserts that 3scale holds exactly one product, backend and ActiveDoc
// per model, each product exactly its plans and rules, and nothing else.
func checkConverged(t *testing.T, h *harness, keys []types.NamespacedName, systemName func(types.NamespacedName) string) {
	t.Helper()
	snap := h.sim.Snapshot()
	var want []string
	for _, k := range keys {
		sys := systemName(k)
		want = append(want, sys)
		m := describe(snap, sys)
		if m.Products != 1 || m.Backends != 1 || len(m.Docs) != 1 {
			t.Errorf("%s: %d products, %d backends, docs %v; want one each", sys, m.Products, m.Backends, m.Docs)
		}
		if len(m.Plans) != 1 || len(m.Rules) != 4 || len(m.Methods) != 4 || len(m.Metrics) != 4 || len(m.Usages) != 1 {
			t.Errorf("%s: plans %v rules %v methods %v metrics %v usages %v", sys, m.Plans, m.Rules, m.Methods, m.Metrics, m.Usages)
		}
		if m.StagingVersion == 0 || m.StagingVersion != m.ProductionVersion {
			t.Errorf("%s: staging %d production %d", sys, m.StagingVersion, m.ProductionVersion)
		}
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, liveProducts(snap)); diff != "" {
		t.Errorf("products (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, liveBackends(snap)); diff != "" {
		t.Errorf("backends (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, docNames(snap)); diff != "" {
		t.Errorf("ActiveDocs (-want +got):\n%s", diff)
	}
}

// TestFaultyThreeScale: with 30% of calls failing (5xx, timeouts, 429), 50 models
// converge with no duplicates and no orphans.
func TestFaultyThreeScale(t *testing.T) {
	if testing.Short() {
		t.Skip("50 models")
	}
	h := newHarness(t)
	h.workers, h.concurrency = 8, 8
	faults := []threescalesim.Fault{threescalesim.Fault500, threescalesim.Fault503, threescalesim.FaultTimeout, threescalesim.Fault429(0)}
	for i, rt := range h.sim.Routes() {
		h.sim.SetFaultProbability(rt.Op, 0.3, faults[i%len(faults)])
	}
	h.startManager()
	var keys []types.NamespacedName
	for i := range 50 {
		u := h.model("granite-chat.yaml", h.ns(), fmt.Sprintf("model-%02d", i), nil)
		h.create(u)
		keys = append(keys, key(u))
	}
	for _, k := range keys {
		h.markReady(k)
	}
	for _, k := range keys {
		h.waitStateLong(k, annotations.StateSynced)
	}
	h.sim.ResetKnobs()
	checkConverged(t, h, keys, func(k types.NamespacedName) string { return k.Namespace + "-" + k.Name })
	t.Logf("%d requests, %d failed", len(h.sim.Requests()), failed(h.sim))
}

// TestRestartMidRegistration stops the controller in the middle of registrations and
// starts a new one, which converges without duplicates.
func TestRestartMidRegistration(t *testing.T) {
	h := newHarness(t)
	h.sim.SetLatency(threescalesim.AllOps, 20_000_000) // 20ms
	h.startManager()
	var keys []types.NamespacedName
	for i := range 4 {
		u := h.model("granite-chat.yaml", h.ns(), fmt.Sprintf("model-%d", i), nil)
		h.create(u)
		keys = append(keys, key(u))
		h.markReady(key(u))
	}
	h.waitFor("registrations to be under way", func() (bool, error) {
		return h.sim.CallCount("services.create") >= 4 && h.sim.CallCount("service_methods.create") >= 2, nil
	})
	h.stopManager()
	synced := 0
	for _, k := range keys {
		if h.get(k).GetAnnotations()[annotations.StatusState] == annotations.StateSynced {
			synced++
		}
	}
	if synced == len(keys) {
		t.Fatal("every model synced before the stop: the test did not stop a registration")
	}
	h.startManager()
	for _, k := range keys {
		h.waitState(k, annotations.StateSynced)
	}
	checkConverged(t, h, keys, func(k types.NamespacedName) string { return k.Namespace + "-" + k.Name })
}

func failed(sim *threescalesim.Server) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Status >= 429 {
			n++
		}
	}
	return n
}
