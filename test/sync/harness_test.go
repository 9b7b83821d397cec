// Package sync_test runs the sync controller against a real kube-apiserver and etcd
// (envtest, with KServe's CRD) and the stateful 3scale simulator, and asserts through
// what 3scale would show.
package sync_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	maassync "github.com/maas-io/maas-webhook/pkg/sync"
	"github.com/maas-io/maas-webhook/pkg/threescale"
	"github.com/maas-io/maas-webhook/test/testenv"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// env is the control plane shared by every test and benchmark of the package: starting
// one takes seconds, and each test works in its own namespaces.
var env *testenv.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	var err error
	env, err = testenv.New(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// pollTimeout bounds every wait; it is a deadlock guard, not a performance assertion.
const pollTimeout = 30 * time.Second

// harness is one test's world: a simulator, namespaces and a controller manager.
type harness struct {
	tb    testing.TB
	ctx   context.Context
	sim   *threescalesim.Server
	ts    *httptest.Server
	c     client.Client
	cfg   config.Config
	clock *clocktesting.FakeClock
	nss   []string
	// knobs for the manager
	workers     int
	concurrency int
	maxRetries  int
	timeout     time.Duration

	mu   gosync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

var nsSeq int

func loadExampleConfig(tb testing.TB) config.Config {
	tb.Helper()
	cfg, err := config.Load("../../examples/config.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func newHarness(tb testing.TB, namespaces ...string) *harness {
	tb.Helper()
	cfg := loadExampleConfig(tb)
	// 3scale keeps at most 4 decimals of a price; the example's premium price has 6 and
	// is rejected (TestValidationError covers that), so the other tests use 4.
	for i := range cfg.Plans {
		for j := range cfg.Plans[i].PricingRules {
			cfg.Plans[i].PricingRules[j].PricePerUnit = "0.0002"
		}
	}
	sim, ts := threescalesim.NewTestServer(tb, threescalesim.Config{HangFor: 500 * time.Millisecond})
	h := &harness{
		tb: tb, ctx: context.Background(), sim: sim, ts: ts, c: env.Client, cfg: cfg,
		clock: clocktesting.NewFakeClock(time.Now()), workers: 4, concurrency: 4, maxRetries: 2,
		timeout: 200 * time.Millisecond,
	}
	if len(namespaces) == 0 {
		namespaces = []string{"models"}
	}
	nsSeq++
	for _, base := range namespaces {
		ns := fmt.Sprintf("%s-%d-%d", base, os.Getpid()%1000, nsSeq)
		if err := env.Client.Create(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			tb.Fatal(err)
		}
		h.nss = append(h.nss, ns)
	}
	tb.Cleanup(h.stopManager)
	return h
}

func (h *harness) ns() string { return h.nss[0] }

// startManager starts a controller manager limited to the harness's namespaces.
func (h *harness) startManager() {
	h.tb.Helper()
	tsc, err := threescale.New(h.ctx, threescale.Options{
		AdminURL: h.ts.URL, Token: h.sim.Token(), QPS: 100000, Burst: 100000,
		MaxConcurrency: h.concurrency, MaxRetries: h.maxRetries, Timeout: h.timeout,
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		h.tb.Fatal(err)
	}
	nss := map[string]cache.Config{}
	for _, ns := range h.nss {
		nss[ns] = cache.Config{}
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: nss},
		Controller:             ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		h.tb.Fatal(err)
	}
	err = maassync.SetupWithManager(mgr, maassync.Options{
		Config: h.cfg, Client: tsc, Workers: h.workers, Clock: h.clock,
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, 200*time.Millisecond),
	})
	if err != nil {
		h.tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			h.tb.Errorf("manager: %v", err)
		}
	}()
	h.mu.Lock()
	h.stop, h.done = cancel, done
	h.mu.Unlock()
}

// stopManager stops the manager and waits for it to exit.
func (h *harness) stopManager() {
	h.mu.Lock()
	stop, done := h.stop, h.done
	h.stop, h.done = nil, nil
	h.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// model builds an InferenceService from an example file, in namespace ns, named name
// when not empty, with extra annotations (an empty value deletes the key).
func (h *harness) model(file, ns, name string, extra map[string]string) *unstructured.Unstructured {
	h.tb.Helper()
	data, err := os.ReadFile("../../examples/inferenceservices/" + file)
	if err != nil {
		h.tb.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		h.tb.Fatal(err)
	}
	u.SetNamespace(ns)
	if name != "" {
		u.SetName(name)
	}
	a := u.GetAnnotations()
	for k, v := range extra {
		if v == "" {
			delete(a, k)
			continue
		}
		a[k] = v
	}
	u.SetAnnotations(a)
	return u
}

func (h *harness) create(u *unstructured.Unstructured) {
	h.tb.Helper()
	if err := h.c.Create(h.ctx, u); err != nil {
		h.tb.Fatalf("create %s: %v", u.GetName(), err)
	}
}

func key(u *unstructured.Unstructured) types.NamespacedName {
	return types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}
}

func (h *harness) get(k types.NamespacedName) *unstructured.Unstructured {
	h.tb.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(maassync.InferenceServiceGVK)
	if err := h.c.Get(h.ctx, k, u); err != nil {
		h.tb.Fatalf("get %s: %v", k, err)
	}
	return u
}

// markReady writes the status KServe writes once the predictor serves: a cluster-local
// address and Ready=True, through the status subresource.
func (h *harness) markReady(k types.NamespacedName) {
	h.tb.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		return h.c.Status().Update(h.ctx, h.readyObject(k))
	})
	if err != nil {
		h.tb.Fatalf("status update %s: %v", k, err)
	}
}

func (h *harness) readyObject(k types.NamespacedName) *unstructured.Unstructured {
	u := h.get(k)
	status := map[string]any{
		"address": map[string]any{"url": "http://" + k.Name + "-predictor." + k.Namespace + ".svc.cluster.local"},
		"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		}},
	}
	if err := unstructured.SetNestedMap(u.Object, status, "status"); err != nil {
		h.tb.Fatal(err)
	}
	return u
}

// merge sets set's entries in m (an empty value removes the key) and returns m, made
// when nil.
func merge(m, set map[string]string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	for k, v := range set {
		if v == "" {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

// annotate merges annotations (an empty value removes the key) with a patch.
func (h *harness) annotate(k types.NamespacedName, ann map[string]string) {
	h.tb.Helper()
	u := h.get(k)
	orig := u.DeepCopy()
	u.SetAnnotations(merge(u.GetAnnotations(), ann))
	if err := h.c.Patch(h.ctx, u, client.MergeFrom(orig)); err != nil {
		h.tb.Fatalf("annotate %s: %v", k, err)
	}
}

// waitFor polls until cond holds; describe, when given, explains a timeout.
func (h *harness) waitFor(what string, cond func() (bool, error), describe ...func() string) {
	h.tb.Helper()
	err := wait.PollUntilContextTimeout(h.ctx, 20*time.Millisecond, pollTimeout, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		for _, d := range describe {
			what += ": " + d()
		}
		h.tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// waitState waits until the object reports state; it returns the object.
func (h *harness) waitState(k types.NamespacedName, state string) *unstructured.Unstructured {
	h.tb.Helper()
	var u *unstructured.Unstructured
	h.waitFor(k.String()+" to be "+state, func() (bool, error) {
		u = h.get(k)
		return u.GetAnnotations()[annotations.StatusState] == state, nil
	}, func() string { return fmt.Sprint(u.GetAnnotations()) })
	return u
}

// waitStateLong is waitState with a longer deadlock guard, for tests of many models.
func (h *harness) waitStateLong(k types.NamespacedName, state string) {
	h.tb.Helper()
	err := wait.PollUntilContextTimeout(h.ctx, 50*time.Millisecond, 5*pollTimeout, true, func(context.Context) (bool, error) {
		return h.get(k).GetAnnotations()[annotations.StatusState] == state, nil
	})
	if err != nil {
		h.tb.Fatalf("waiting for %s to be %s: %v: %v", k, state, err, h.get(k).GetAnnotations())
	}
}

// waitSyncedWith waits until the object is Synced with an applied hash other than
// before.
func (h *harness) waitSyncedWith(k types.NamespacedName, notHash string) *unstructured.Unstructured {
	h.tb.Helper()
	var u *unstructured.Unstructured
	h.waitFor(k.String()+" to sync a new state", func() (bool, error) {
		u = h.get(k)
		a := u.GetAnnotations()
		return a[annotations.StatusState] == annotations.StateSynced && a[annotations.StatusAppliedHash] != notHash, nil
	}, func() string { return fmt.Sprint(u.GetAnnotations()) })
	return u
}

func (h *harness) waitGone(k types.NamespacedName) {
	h.tb.Helper()
	h.waitFor(k.String()+" to be deleted", func() (bool, error) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(maassync.InferenceServiceGVK)
		err := h.c.Get(h.ctx, k, u)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// reconciles counts the sync controller's finished reconciles, from the
// controller-runtime metrics every manager of the process shares.
func reconciles(tb testing.TB) float64 {
	tb.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelValue(m, "controller") == "inferenceservice-sync" {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// touch changes an annotation no one reads and waits until the controller has
// reconciled the object since.
func (h *harness) touch(k types.NamespacedName) {
	h.tb.Helper()
	before := reconciles(h.tb)
	h.annotate(k, map[string]string{"test.maas.io/touch": time.Now().Format(time.RFC3339Nano)})
	h.waitFor("a reconcile of "+k.String(), func() (bool, error) { return reconciles(h.tb) > before, nil })
}

// events returns the reasons of the events about an object, in order.
func (h *harness) events(k types.NamespacedName) []corev1.Event {
	h.tb.Helper()
	l := &corev1.EventList{}
	if err := h.c.List(h.ctx, l, client.InNamespace(k.Namespace)); err != nil {
		h.tb.Fatal(err)
	}
	var out []corev1.Event
	for _, e := range l.Items {
		if e.InvolvedObject.Name == k.Name {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) waitEvent(k types.NamespacedName, reason, contains string) corev1.Event {
	h.tb.Helper()
	var found corev1.Event
	h.waitFor("event "+reason+" on "+k.String(), func() (bool, error) {
		for _, e := range h.events(k) {
			msg := e.Message
			if e.Reason == reason && strings.Contains(msg, contains) {
				found = e
				return true, nil
			}
		}
		return false, nil
	}, func() string {
		var rs []string
		for _, e := range h.events(k) {
			rs = append(rs, e.Reason+": "+e.Message)
		}
		return fmt.Sprint(rs, h.get(k).GetAnnotations(), " CALLS ", callSummary(h.sim))
	})
	return found
}
