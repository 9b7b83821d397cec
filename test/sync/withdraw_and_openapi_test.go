package sync_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	maassync "github.com/maas-io/maas-webhook/pkg/sync"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// TestWithdraw: each way of withdrawing a live, Synced model removes its product,
// backend and ActiveDoc from 3scale and its finalizer, status annotations and state
// label from the object, which itself stays.
func TestWithdraw(t *testing.T) {
	for _, tc := range []struct {
		name string
		// withdraw withdraws the model k.
		withdraw func(h *harness, k types.NamespacedName)
		// watched is true when the withdrawn object is still one the controller
		// reconciles (it keeps maas.io/expose), so a touch reaches it.
		watched bool
	}{
		{
			name: "expose false",
			withdraw: func(h *harness, k types.NamespacedName) {
				h.annotate(k, map[string]string{annotations.Expose: "false"})
			},
			watched: true,
		},
		{
			name:     "expose removed",
			withdraw: func(h *harness, k types.NamespacedName) { h.annotate(k, map[string]string{annotations.Expose: ""}) },
		},
		{
			name:     "opt-out label",
			withdraw: func(h *harness, k types.NamespacedName) { h.label(k, map[string]string{annotations.OptOut: "true"}) },
			watched:  true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "withdraw")
			h.startManager()
			k := h.synced("granite-chat.yaml")
			sys := k.Namespace + "-" + k.Name
			if m := describe(h.sim.Snapshot(), sys); m.Products != 1 || m.Backends != 1 || len(m.Docs) != 1 {
				t.Fatalf("before withdrawal: %d products, %d backends, docs %v; want one each", m.Products, m.Backends, m.Docs)
			}

			tc.withdraw(h, k)
			h.waitWithdrawn(k)
			h.checkWithdrawn(t, k, sys)
			h.waitEvent(k, maassync.ReasonWithdrawn, "Removed product, backend and ActiveDocs "+sys)

			if tc.watched {
				// A withdrawn model stays withdrawn: a reconcile calls 3scale no more.
				h.sim.ResetRequests()
				h.touch(k)
				if n := h.sim.CallCount(threescalesim.AllOps); n != 0 {
					t.Errorf("reconcile of a withdrawn model: %d 3scale calls, want 0: %s", n, callSummary(h.sim))
				}
			}
		})
	}
}

// TestWithdrawNamespaceOptOut: labelling a namespace maas.io/opt-out "true" withdraws
// every synced model in it, through the namespace watch, and leaves the models of other
// namespaces alone; removing the label publishes them again.
func TestWithdrawNamespaceOptOut(t *testing.T) {
	h := newHarness(t, "optout", "control")
	h.startManager()
	var keys []types.NamespacedName
	for i := range 2 {
		u := h.model("granite-chat.yaml", h.ns(), fmt.Sprintf("model-%d", i), nil)
		h.create(u)
		keys = append(keys, key(u))
	}
	control := h.model("granite-chat.yaml", h.nss[1], "control", nil)
	h.create(control)
	for _, k := range append(keys, key(control)) {
		h.markReady(k)
	}
	for _, k := range append(keys, key(control)) {
		h.waitState(k, annotations.StateSynced)
	}
	sysOf := func(k types.NamespacedName) string { return k.Namespace + "-" + k.Name }

	h.labelNamespace(h.ns(), map[string]string{annotations.OptOut: "true"})
	for _, k := range keys {
		h.waitWithdrawn(k)
	}
	for _, k := range keys {
		h.checkWithdrawn(t, k, sysOf(k))
	}
	if diff := cmp.Diff([]string{sysOf(key(control))}, liveProducts(h.sim.Snapshot())); diff != "" {
		t.Errorf("products after the namespace opted out (-want +got):\n%s", diff)
	}
	if got := h.get(key(control)).GetAnnotations()[annotations.StatusState]; got != annotations.StateSynced {
		t.Errorf("model in another namespace: state %q, want Synced", got)
	}

	// Opting back in publishes the models again. 3scale keeps a deleted product's
	// system name taken until it purges it (asynchronously); purge now rather than
	// wait for it.
	h.sim.Purge()
	h.labelNamespace(h.ns(), map[string]string{annotations.OptOut: ""})
	for _, k := range keys {
		h.waitState(k, annotations.StateSynced)
	}
	checkConverged(t, h, append(keys, key(control)), sysOf)
}

// openAPISpecJSON is a hand-written spec, as a team would keep in a ConfigMap.
const openAPISpecJSON = `{
  "openapi": "3.0.3",
  "info": {"title": "Granite, by hand", "version": "1.0"},
  "paths": {"/v1/chat/completions": {"post": {"summary": "Chat", "responses": {"200": {"description": "OK"}}}}}
}`

// openAPISpecYAML is an edited version of it, in YAML.
const openAPISpecYAML = `openapi: 3.0.3
info:
  title: Granite, by hand
  version: "2.0"
paths:
  /v1/chat/completions:
    post:
      summary: Chat
      responses:
        "200":
          description: OK
  /v1/models:
    get:
      summary: Models
      responses:
        "200":
          description: OK
`

// TestOpenAPIConfigMap: with maas.io/openapi naming a ConfigMap in the namespace, the
// ActiveDoc body is the ConfigMap's spec, and an edit of the ConfigMap reaches 3scale
// through the ConfigMap watch with one read and one update of the ActiveDoc.
func TestOpenAPIConfigMap(t *testing.T) {
	h := newHarness(t, "openapi")
	h.startManager()
	h.createConfigMap(h.ns(), "granite-openapi", map[string]string{"openapi.json": openAPISpecJSON})
	u := h.model("granite-chat.yaml", h.ns(), "", map[string]string{annotations.OpenAPI: "granite-openapi"})
	h.create(u)
	k := key(u)
	sys := k.Namespace + "-" + k.Name
	h.markReady(k)
	obj := h.waitState(k, annotations.StateSynced)
	if diff := cmp.Diff(jsonValue(t, openAPISpecJSON), jsonValue(t, docBody(t, h, sys))); diff != "" {
		t.Errorf("ActiveDoc body (-want +got):\n%s", diff)
	}

	h.sim.ResetRequests()
	h.updateConfigMap(h.ns(), "granite-openapi", map[string]string{"openapi.yaml": openAPISpecYAML})
	h.waitSyncedWith(k, obj.GetAnnotations()[annotations.StatusAppliedHash])
	t.Logf("ConfigMap edit: %d calls: %s", h.sim.CallCount(threescalesim.AllOps), callSummary(h.sim))
	wantCalls := map[threescalesim.CallKey]int{
		{Op: "active_docs.read", Method: "GET"}:   1,
		{Op: "active_docs.update", Method: "PUT"}: 1,
	}
	if diff := cmp.Diff(wantCalls, h.sim.Calls()); diff != "" {
		t.Errorf("calls to apply a ConfigMap edit (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(jsonValue(t, yamlAsJSON(t, openAPISpecYAML)), jsonValue(t, docBody(t, h, sys))); diff != "" {
		t.Errorf("ActiveDoc body after the edit (-want +got):\n%s", diff)
	}
}

// TestOpenAPIConfigMapMissing: a model whose maas.io/openapi names a missing ConfigMap
// reports Error naming it, with a Warning and no 3scale call; creating the ConfigMap
// makes the model converge with the ConfigMap's spec as its ActiveDoc.
func TestOpenAPIConfigMapMissing(t *testing.T) {
	h := newHarness(t, "openapi-missing")
	h.startManager()
	u := h.model("granite-chat.yaml", h.ns(), "", map[string]string{annotations.OpenAPI: "late-openapi"})
	h.create(u)
	k := key(u)
	sys := k.Namespace + "-" + k.Name
	h.markReady(k)
	obj := h.waitState(k, annotations.StateError)
	msg := obj.GetAnnotations()[annotations.StatusMessage]
	if !strings.Contains(msg, "ConfigMap "+h.ns()+"/late-openapi") || !strings.Contains(msg, annotations.OpenAPI) {
		t.Errorf("message %q does not name the ConfigMap and %s", msg, annotations.OpenAPI)
	}
	if got := obj.GetLabels()[annotations.State]; got != annotations.StateError {
		t.Errorf("state label = %q, want Error", got)
	}
	h.waitEvent(k, maassync.ReasonInvalid, "late-openapi")
	if n := h.sim.CallCount(threescalesim.AllOps); n != 0 {
		t.Errorf("%d 3scale calls while the ConfigMap is missing, want 0: %s", n, callSummary(h.sim))
	}

	h.createConfigMap(h.ns(), "late-openapi", map[string]string{"openapi.json": openAPISpecJSON})
	obj = h.waitState(k, annotations.StateSynced)
	if msg := obj.GetAnnotations()[annotations.StatusMessage]; msg != "" {
		t.Errorf("message %q left after the sync", msg)
	}
	checkConverged(t, h, []types.NamespacedName{k}, func(k types.NamespacedName) string { return k.Namespace + "-" + k.Name })
	if diff := cmp.Diff(jsonValue(t, openAPISpecJSON), jsonValue(t, docBody(t, h, sys))); diff != "" {
		t.Errorf("ActiveDoc body (-want +got):\n%s", diff)
	}
}

// label merges labels on an InferenceService (an empty value removes the key).
func (h *harness) label(k types.NamespacedName, labels map[string]string) {
	h.tb.Helper()
	u := h.get(k)
	h.patchLabels(u, labels)
}

// labelNamespace merges labels on a namespace (an empty value removes the key).
func (h *harness) labelNamespace(name string, labels map[string]string) {
	h.tb.Helper()
	ns := &corev1.Namespace{}
	if err := h.c.Get(h.ctx, types.NamespacedName{Name: name}, ns); err != nil {
		h.tb.Fatalf("get namespace %s: %v", name, err)
	}
	h.patchLabels(ns, labels)
}

func (h *harness) patchLabels(o client.Object, labels map[string]string) {
	h.tb.Helper()
	orig := o.DeepCopyObject().(client.Object)
	o.SetLabels(merge(o.GetLabels(), labels))
	if err := h.c.Patch(h.ctx, o, client.MergeFrom(orig)); err != nil {
		h.tb.Fatalf("label %s: %v", o.GetName(), err)
	}
}

// controllerMarks lists what the controller writes on an object: its finalizer, its
// status annotations and its state label.
func controllerMarks(u *unstructured.Unstructured) []string {
	var out []string
	for _, f := range u.GetFinalizers() {
		if f == annotations.Finalizer {
			out = append(out, "finalizer "+f)
		}
	}
	for k := range u.GetAnnotations() {
		if strings.HasPrefix(k, annotations.StatusPrefix) {
			out = append(out, "annotation "+k)
		}
	}
	if v, ok := u.GetLabels()[annotations.State]; ok {
		out = append(out, "label "+annotations.State+"="+v)
	}
	return out
}

// waitWithdrawn waits until the object carries none of the controller's marks. The
// controller clears them only once 3scale is clean.
func (h *harness) waitWithdrawn(k types.NamespacedName) {
	h.tb.Helper()
	var u *unstructured.Unstructured
	h.waitFor(k.String()+" to be withdrawn", func() (bool, error) {
		u = h.get(k)
		return len(controllerMarks(u)) == 0, nil
	}, func() string { return fmt.Sprint(controllerMarks(u), " CALLS ", callSummary(h.sim)) })
}

// checkWithdrawn asserts that the object still exists, not terminating, without the
// controller's marks, and that 3scale holds no product, backend or ActiveDoc named sys.
func (h *harness) checkWithdrawn(t *testing.T, k types.NamespacedName, sys string) {
	t.Helper()
	u := h.get(k)
	if u.GetDeletionTimestamp() != nil {
		t.Errorf("%s is terminating, want it kept", k)
	}
	if diff := cmp.Diff([]string(nil), controllerMarks(u)); diff != "" {
		t.Errorf("%s: controller marks left (-want +got):\n%s", k, diff)
	}
	if got := u.GetAnnotations()[annotations.OpenShiftDisplayName]; got == "" {
		t.Errorf("%s: user annotations lost: %v", k, u.GetAnnotations())
	}
	m := describe(h.sim.Snapshot(), sys)
	if diff := cmp.Diff(simModel{}, m); diff != "" {
		t.Errorf("3scale objects of %s after withdrawal (-want +got):\n%s", sys, diff)
	}
}

func (h *harness) createConfigMap(ns, name string, data map[string]string) {
	h.tb.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	if err := h.c.Create(h.ctx, cm); err != nil {
		h.tb.Fatalf("create ConfigMap %s: %v", name, err)
	}
}

// updateConfigMap replaces a ConfigMap's data.
func (h *harness) updateConfigMap(ns, name string, data map[string]string) {
	h.tb.Helper()
	cm := &corev1.ConfigMap{}
	if err := h.c.Get(h.ctx, types.NamespacedName{Namespace: ns, Name: name}, cm); err != nil {
		h.tb.Fatalf("get ConfigMap %s: %v", name, err)
	}
	cm.Data = data
	if err := h.c.Update(h.ctx, cm); err != nil {
		h.tb.Fatalf("update ConfigMap %s: %v", name, err)
	}
}

// docBody is the body of the one ActiveDoc named sys.
func docBody(t *testing.T, h *harness, sys string) string {
	t.Helper()
	var bodies []string
	for _, d := range h.sim.Snapshot().ActiveDocs {
		if d.SystemName == sys {
			bodies = append(bodies, d.Body)
		}
	}
	if len(bodies) != 1 {
		t.Fatalf("%d ActiveDocs named %s, want 1", len(bodies), sys)
	}
	return bodies[0]
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	return v
}

func yamlAsJSON(t *testing.T, s string) string {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}
