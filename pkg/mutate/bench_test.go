package mutate

import (
	"testing"

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
