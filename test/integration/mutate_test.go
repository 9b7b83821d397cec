// Package integration holds the tests that run against a real kube-apiserver and etcd.
package integration

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/mutate"
	"github.com/maas-io/maas-webhook/test/testenv"
)

// TestPatchThroughAPIServer stores an example InferenceService in a real API server (with
// KServe's CRD and its schema), applies the pure mutation's JSON patch to it there, and
// reads it back: the API server accepts the patch, and the stored object is the mutated one.
func TestPatchThroughAPIServer(t *testing.T) {
	env := testenv.Start(t, nil)
	ctx := context.Background()
	cfg, err := config.Load("../../examples/config.yaml")
	if err != nil {
		t.Fatal(err)
	}

	for _, file := range []string{"granite-chat.yaml", "code-model.yaml", "embeddings.yaml"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile("../../examples/inferenceservices/" + file)
			if err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(data, &obj.Object); err != nil {
				t.Fatal(err)
			}
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: obj.GetNamespace()}}
			if err := env.Client.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
				t.Fatal(err)
			}
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatalf("creating %s: %v", file, err)
			}

			res, err := mutate.Mutate(obj, ns.Labels, cfg.AnnotationDefaults())
			if err != nil {
				t.Fatal(err)
			}
			patch, err := json.Marshal(res.Patch)
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Client.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, patch)); err != nil {
				t.Fatalf("API server refused the patch %s: %v", patch, err)
			}

			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(obj.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(res.Object.GetAnnotations(), got.GetAnnotations()); diff != "" {
				t.Errorf("stored annotations (-want +got):\n%s", diff)
			}
			if got.GetLabels()[annotations.Managed] != "true" {
				t.Errorf("stored labels %v lack %s", got.GetLabels(), annotations.Managed)
			}
			if diff := cmp.Diff([]string{annotations.Finalizer}, got.GetFinalizers()); diff != "" {
				t.Errorf("stored finalizers (-want +got):\n%s", diff)
			}
			wantSpec, _, _ := unstructured.NestedMap(obj.Object, "spec")
			gotSpec, _, _ := unstructured.NestedMap(got.Object, "spec")
			if diff := cmp.Diff(wantSpec, gotSpec); diff != "" {
				t.Errorf("spec changed (-want +got):\n%s", diff)
			}

			// The stored object mutated again needs no patch: the mutation is idempotent.
			again, err := mutate.Mutate(got, ns.Labels, cfg.AnnotationDefaults())
			if err != nil || len(again.Patch) != 0 {
				t.Errorf("second mutation: %v %v, want no patch", again.Patch, err)
			}
		})
	}
}
