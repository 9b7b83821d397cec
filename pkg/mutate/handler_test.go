package mutate

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

const controllerUser = "system:serviceaccount:maas-system:maas-webhook"

// testHandler returns a Handler whose cache holds the namespaces "models" and, labelled
// opt-out, "private".
func testHandler(t testing.TB) *Handler {
	t.Helper()
	c := fake.NewClientBuilder().WithObjects(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "models"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "private", Labels: map[string]string{annotations.OptOut: "true"}}},
	).Build()
	return &Handler{Namespaces: c, Defaults: defaults, ControllerUser: controllerUser}
}

// object returns the JSON of an InferenceService in namespace ns with the given
// annotations and labels.
func object(t testing.TB, ns string, ann, labels map[string]string) []byte {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("serving.kserve.io/v1beta1")
	u.SetKind("InferenceService")
	u.SetNamespace(ns)
	u.SetName("granite")
	u.SetAnnotations(ann)
	u.SetLabels(labels)
	_ = unstructured.SetNestedField(u.Object, "hf://ibm/granite", "spec", "predictor", "model", "storageUri")
	b, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deleting marks an encoded object as being deleted.
func deleting(t testing.TB, obj []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	m["metadata"].(map[string]any)["deletionTimestamp"] = "2026-12-01T00:00:00Z"
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outcome is what a test checks of a Response.
type outcome struct {
	Allowed bool
	Code    int32
	Patched bool
}

func summary(r admission.Response) outcome {
	o := outcome{Allowed: r.Allowed, Patched: len(r.Patch) > 0}
	if r.Result != nil {
		o.Code = r.Result.Code
	}
	return o
}

var isvcKind = metav1.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"}

func TestHandle(t *testing.T) {
	expose := map[string]string{annotations.Expose: "true"}
	withStatus := map[string]string{annotations.Expose: "true", annotations.StatusProductID: "42"}
	allowed := outcome{Allowed: true, Code: http.StatusOK}
	patched := outcome{Allowed: true, Code: http.StatusOK, Patched: true}
	denied := outcome{Code: http.StatusForbidden}

	tests := []struct {
		name     string
		op       admissionv1.Operation
		kind     *metav1.GroupVersionKind
		user     string
		dryRun   bool
		obj, old []byte
		want     outcome
		// message lists substrings of the response's message.
		message []string
	}{
		{name: "not an InferenceService", op: admissionv1.Create, kind: &metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, obj: object(t, "models", expose, nil), want: allowed, message: []string{SkipNotInferenceService}},
		{name: "delete", op: admissionv1.Delete, old: object(t, "models", expose, nil), want: allowed, message: []string{SkipOperation}},
		{name: "no annotation", op: admissionv1.Create, obj: object(t, "models", nil, nil), want: allowed, message: []string{SkipNotAnnotated}},
		{name: "annotation removed on update", op: admissionv1.Update, obj: object(t, "models", nil, nil), old: object(t, "models", expose, nil), want: allowed, message: []string{SkipNotAnnotated}},
		{name: "object opted out", op: admissionv1.Create, obj: object(t, "models", expose, map[string]string{annotations.OptOut: "true"}), want: allowed, message: []string{SkipOptedOut}},
		{name: "namespace opted out", op: admissionv1.Create, obj: object(t, "private", expose, nil), want: allowed, message: []string{SkipOptedOut}},
		{name: "finalizer removed while deleting", op: admissionv1.Update, user: controllerUser, obj: deleting(t, object(t, "models", expose, nil)), old: object(t, "models", expose, nil), want: allowed, message: []string{SkipDeleting}},
		{name: "expose false", op: admissionv1.Create, obj: object(t, "models", map[string]string{annotations.Expose: "false"}, nil), want: allowed, message: []string{SkipNotExposed}},
		{name: "annotated", op: admissionv1.Create, obj: object(t, "models", expose, nil), want: patched},
		{name: "annotated, dry run", op: admissionv1.Create, dryRun: true, obj: object(t, "models", expose, nil), want: patched},
		{name: "annotated, namespace not cached yet", op: admissionv1.Create, obj: object(t, "new", expose, nil), want: patched},
		{name: "annotated on update", op: admissionv1.Update, obj: object(t, "models", expose, nil), old: object(t, "models", nil, nil), want: patched},
		{
			name: "invalid values", op: admissionv1.Create,
			obj:  object(t, "models", map[string]string{annotations.Expose: "yes", annotations.SystemName: "my model"}, nil),
			want: denied, message: []string{"InferenceService models/granite is invalid", annotations.Expose, `"yes"`, `"true" or "false"`, annotations.SystemName, `"my model"`},
		},
		{
			name: "unknown plan", op: admissionv1.Create,
			obj:  object(t, "models", map[string]string{annotations.Expose: "true", annotations.Plans: "gold"}, nil),
			want: denied, message: []string{annotations.Plans, "gold", "basic"},
		},
		{name: "user sets a status annotation", op: admissionv1.Create, user: "alice", obj: object(t, "models", withStatus, nil), want: denied, message: []string{annotations.StatusProductID, "alice"}},
		{name: "controller sets a status annotation", op: admissionv1.Update, user: controllerUser, obj: object(t, "models", withStatus, nil), old: object(t, "models", expose, nil), want: patched},
		{name: "user removes a status annotation", op: admissionv1.Update, user: "alice", obj: object(t, "models", expose, nil), old: object(t, "models", withStatus, nil), want: denied, message: []string{annotations.StatusProductID}},
		{name: "user keeps a status annotation", op: admissionv1.Update, user: "alice", obj: object(t, "models", withStatus, nil), old: object(t, "models", withStatus, nil), want: patched},
		{
			name: "user changes the state label", op: admissionv1.Update, user: "alice",
			obj:  object(t, "models", expose, map[string]string{annotations.State: annotations.StateSynced}),
			old:  object(t, "models", expose, map[string]string{annotations.State: annotations.StatePending}),
			want: denied, message: []string{"label " + annotations.State},
		},
		{
			name: "controller changes the state label", op: admissionv1.Update, user: controllerUser,
			obj:  object(t, "models", expose, map[string]string{annotations.State: annotations.StateSynced}),
			old:  object(t, "models", expose, nil),
			want: patched,
		},
		{name: "undecodable object", op: admissionv1.Create, obj: []byte(`{"metadata": 7}`), want: outcome{Code: http.StatusBadRequest}},
		{name: "no object", op: admissionv1.Create, want: outcome{Code: http.StatusBadRequest}},
	}
	h := testHandler(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind := isvcKind
			if tt.kind != nil {
				kind = *tt.kind
			}
			req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				UID: "1", Kind: kind, Namespace: "models", Name: "granite", Operation: tt.op,
				UserInfo: authenticationv1.UserInfo{Username: tt.user},
				DryRun:   ptr.To(tt.dryRun),
				Object:   runtime.RawExtension{Raw: tt.obj}, OldObject: runtime.RawExtension{Raw: tt.old},
			}}
			got := h.Handle(context.Background(), req)
			if diff := cmp.Diff(tt.want, summary(got)); diff != "" {
				t.Errorf("response (-want +got):\n%s\nmessage: %v", diff, got.Result)
			}
			for _, s := range tt.message {
				if got.Result == nil || !strings.Contains(got.Result.Message, s) {
					t.Errorf("message %v does not contain %q", got.Result, s)
				}
			}
		})
	}
}

// TestHandlePatchIsMutate checks that the handler returns Mutate's patch, and that it
// applies to the full object (the handler decodes only the metadata).
func TestHandlePatchIsMutate(t *testing.T) {
	raw := object(t, "models", map[string]string{annotations.Expose: "true", annotations.Plans: "premium"}, map[string]string{"app": "granite"})
	got := testHandler(t).Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Kind: isvcKind, Namespace: "models", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
	}})
	in := &unstructured.Unstructured{}
	if err := in.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	want, err := Mutate(in, nil, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if got.PatchType == nil || *got.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Errorf("patch type %v", got.PatchType)
	}
	var gotPatch []jsonpatch.JsonPatchOperation
	if err := json.Unmarshal(got.Patch, &gotPatch); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Patch, gotPatch); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Object.Object, applyPatch(t, in, Result{Patch: gotPatch})); diff != "" {
		t.Errorf("patched object (-want +got):\n%s", diff)
	}
}

// review returns the JSON of an AdmissionReview asking to create obj.
func review(t testing.TB, obj []byte) []byte {
	t.Helper()
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "7", Kind: isvcKind, Namespace: "models", Name: "granite", Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: obj},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve sends body to NewWebhook and decodes the AdmissionReview it answers with.
func serve(t testing.TB, h http.Handler, body io.Reader, contentLength int64) (int, *admissionv1.AdmissionReview) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, Path, body)
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = contentLength
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	ar := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(w.Body.Bytes(), ar); err != nil {
		t.Fatalf("answer %q is not an AdmissionReview: %v", w.Body.String(), err)
	}
	if ar.Response == nil {
		t.Fatalf("answer %q has no response", w.Body.String())
	}
	return w.Code, ar
}

func TestWebhookHTTP(t *testing.T) {
	const limit = 4096
	valid := review(t, object(t, "models", map[string]string{annotations.Expose: "true"}, nil))
	huge := review(t, object(t, "models", map[string]string{annotations.Expose: "true", annotations.Description: strings.Repeat("x", limit)}, nil))
	tests := []struct {
		name          string
		body          []byte
		contentLength int64 // -1: unknown (chunked)
		wantStatus    int
		wantCode      int32
		wantAllowed   bool
	}{
		{name: "valid", body: valid, contentLength: int64(len(valid)), wantStatus: http.StatusOK, wantCode: http.StatusOK, wantAllowed: true},
		{name: "valid, chunked", body: valid, contentLength: -1, wantStatus: http.StatusOK, wantCode: http.StatusOK, wantAllowed: true},
		{name: "empty", contentLength: 0, wantStatus: http.StatusBadRequest, wantCode: http.StatusBadRequest},
		{name: "not JSON", body: []byte("{{{"), contentLength: 3, wantStatus: http.StatusOK, wantCode: http.StatusBadRequest},
		{name: "no request", body: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), contentLength: -1, wantStatus: http.StatusOK, wantCode: http.StatusOK, wantAllowed: true},
		{name: "oversized", body: huge, contentLength: int64(len(huge)), wantStatus: http.StatusRequestEntityTooLarge, wantCode: http.StatusRequestEntityTooLarge},
		{name: "oversized, chunked", body: huge, contentLength: -1, wantStatus: http.StatusOK, wantCode: http.StatusBadRequest},
	}
	h := NewWebhook(testHandler(t), limit)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ar := serve(t, h, bytes.NewReader(tt.body), tt.contentLength)
			got := struct {
				Status  int
				Code    int32
				Allowed bool
			}{status, ar.Response.Result.Code, ar.Response.Allowed}
			want := struct {
				Status  int
				Code    int32
				Allowed bool
			}{tt.wantStatus, tt.wantCode, tt.wantAllowed}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s\n%+v", diff, ar.Response.Result)
			}
		})
	}
}
