package sync_test

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// minRegisterCalls is the fewest Admin API calls that can register the granite example
// (all four families, token metrics, the basic plan with two limits, generated
// ActiveDocs) for a tenant without developer accounts, counted by hand: create backend,
// product, backend usage (3); list metrics for the hits id (1); create 3 token metrics
// and 4 methods (7); list mapping rules for the default "GET /" rule, rewrite it and
// create 3 (5); update proxy and policies, both of which deploy staging (2); read the
// latest staging version and promote it (2); create the plan and its 2 limits (3);
// create the ActiveDoc (1); list service plans for the default one (1); list developer
// accounts (1). One subscription per account comes on top.
const minRegisterCalls = 26

// BenchmarkRegister measures the calls to register one model; calls/op against
// min-calls/op is the overhead.
func BenchmarkRegister(b *testing.B) {
	h := newHarness(b)
	h.startManager()
	calls, i := 0, 0
	for b.Loop() {
		u := h.model("granite-chat.yaml", h.ns(), fmt.Sprintf("model-%d", i), nil)
		i++
		h.create(u)
		h.waitState(key(u), annotations.StateWaitingForModel)
		h.sim.ResetRequests()
		h.markReady(key(u))
		h.waitState(key(u), annotations.StateSynced)
		calls += h.sim.CallCount(threescalesim.AllOps)
	}
	b.ReportMetric(float64(calls)/float64(i), "calls/op")
	b.ReportMetric(minRegisterCalls, "min-calls/op")
}

// BenchmarkNoopReconcile measures the calls of a reconcile of an unchanged model.
func BenchmarkNoopReconcile(b *testing.B) {
	h := newHarness(b)
	h.startManager()
	k := h.synced("granite-chat.yaml")
	h.sim.ResetRequests()
	n := 0
	for b.Loop() {
		h.touch(k)
		n++
	}
	b.ReportMetric(float64(h.sim.CallCount(threescalesim.AllOps))/float64(n), "calls/op")
}

// BenchmarkDriftCheck measures the calls of a drift check that finds nothing to repair.
func BenchmarkDriftCheck(b *testing.B) {
	h := newHarness(b)
	h.startManager()
	k := h.synced("granite-chat.yaml")
	calls, n := 0, 0
	for b.Loop() {
		before := h.get(k).GetAnnotations()[annotations.StatusSyncedAt]
		h.sim.ResetRequests()
		h.clock.Step(2 * h.cfg.ResyncPeriod.Duration)
		h.touch(k)
		h.waitFor("a drift check", func() (bool, error) {
			return h.get(k).GetAnnotations()[annotations.StatusSyncedAt] != before, nil
		})
		calls += h.sim.CallCount(threescalesim.AllOps)
		n++
	}
	b.ReportMetric(float64(calls)/float64(n), "calls/op")
}

// BenchmarkConverge200 registers 200 models against a 3scale that takes 20ms per call
// and compares the time to converge with the bound calls × latency ÷ concurrency.
func BenchmarkConverge200(b *testing.B) {
	const models, latency, concurrency = 200, 20 * time.Millisecond, 16
	for b.Loop() {
		h := newHarness(b, "many")
		h.workers, h.concurrency = concurrency, concurrency
		h.sim.SetLatency(threescalesim.AllOps, latency)
		h.startManager()
		var keys []types.NamespacedName
		for i := range models {
			u := h.model("granite-chat.yaml", h.ns(), fmt.Sprintf("model-%03d", i), nil)
			h.create(u)
			keys = append(keys, key(u))
		}
		for _, k := range keys {
			h.waitState(k, annotations.StateWaitingForModel)
		}
		h.sim.ResetRequests()
		start := time.Now()
		for _, k := range keys {
			h.markReady(k)
		}
		for _, k := range keys {
			h.waitStateLong(k, annotations.StateSynced)
		}
		elapsed := time.Since(start)
		calls := h.sim.CallCount(threescalesim.AllOps)
		bound := time.Duration(calls) * latency / concurrency
		b.ReportMetric(elapsed.Seconds(), "s-to-converge")
		b.ReportMetric(bound.Seconds(), "s-bound")
		b.ReportMetric(elapsed.Seconds()/bound.Seconds(), "ratio")
		b.ReportMetric(float64(calls), "calls")
		h.stopManager()
	}
}

// synced creates a model from an example, marks it Ready and waits until it is Synced.
func (h *harness) synced(file string) types.NamespacedName {
	h.tb.Helper()
	u := h.model(file, h.ns(), "", nil)
	h.create(u)
	h.markReady(key(u))
	h.waitState(key(u), annotations.StateSynced)
	return key(u)
}
