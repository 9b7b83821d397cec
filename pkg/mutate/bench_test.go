package mutate

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// BenchmarkMutate is the pure mutation of an annotated model, the part of admission that
// is ours (the rest is decoding the review and TLS).
func BenchmarkMutate(b *testing.B) {
	obj := isvc(b, annotated)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Mutate(obj, nil, defaults); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is the annotation contract's share of BenchmarkMutate.
func BenchmarkParse(b *testing.B) {
	in := annotations.Input{Annotations: isvc(b, annotated).GetAnnotations()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := annotations.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandle is one admission request through the handler, without HTTP and TLS:
// guards, decoding the object's metadata, the namespace lookup, Mutate and the patch.
func BenchmarkHandle(b *testing.B) {
	h := testHandler(b)
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "1", Kind: metav1.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"},
		Namespace: "models", Name: "granite", Operation: admissionv1.Create,
		Object: runtime.RawExtension{Raw: object(b, "models", map[string]string{annotations.Expose: "true"}, nil)},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Handle(ctx, req); !resp.Allowed || len(resp.Patch) == 0 {
			b.Fatalf("response %+v", resp.Result)
		}
	}
}
