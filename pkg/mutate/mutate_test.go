package mutate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

var defaults = annotations.Defaults{Plans: []string{"basic"}, AvailablePlans: []string{"basic", "premium"}, TokenMetrics: true}

func isvc(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

const annotated = `
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: granite
  namespace: models
  annotations:
    maas.io/expose: "true"
    maas.io/plans: premium
    other.example.com/a~b: kept
  labels:
    app: granite
  finalizers: [example.com/keep]
spec:
  predictor:
    model: {modelFormat: {name: vLLM}, storageUri: "hf://ibm/granite"}
`

// applyPatch applies a Result's patch to the JSON of in, as the API server would.
func applyPatch(t *testing.T, in *unstructured.Unstructured, r Result) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(in.Object)
	p, _ := json.Marshal(r.Patch)
	decoded, err := jsonpatchapply.DecodePatch(p)
	if err != nil {
		t.Fatalf("decoding patch: %v", err)
	}
	out, err := decoded.Apply(raw)
	if err != nil {
		t.Fatalf("applying patch %s: %v", p, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMutateDefaults(t *testing.T) {
	in := isvc(t, annotated)
	before := in.DeepCopy()
	r, err := Mutate(in, nil, defaults)
	if err != nil {
		t.Fatalf("Mutate: %v", err)
	}
	if r.Skipped != "" {
		t.Fatalf("skipped: %s", r.Skipped)
	}
	if diff := cmp.Diff(before.Object, in.Object); diff != "" {
		t.Errorf("Mutate changed its input (-before +after):\n%s", diff)
	}
	wantAnn := map[string]string{
		"maas.io/expose": "true", "maas.io/plans": "premium", "other.example.com/a~b": "kept",
		"maas.io/display-name": "granite", "maas.io/system-name": "models-granite",
		"maas.io/endpoints": "chat,completions,embeddings,models", "maas.io/token-metrics": "true",
		"maas.io/cors-allow-origin": "*", "maas.io/deletion-policy": "delete",
	}
	if diff := cmp.Diff(wantAnn, r.Object.GetAnnotations()); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"app": "granite", "maas.io/managed": "true"}, r.Object.GetLabels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"example.com/keep", "maas.io/cleanup"}, r.Object.GetFinalizers()); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
	// The patch does exactly what the returned object shows, and nothing outside metadata.
	if diff := cmp.Diff(r.Object.Object, applyPatch(t, in, r)); diff != "" {
		t.Errorf("patched object differs from Result.Object (-want +got):\n%s", diff)
	}
	for _, op := range r.Patch {
		if !strings.HasPrefix(op.Path, "/metadata/") {
			t.Errorf("patch touches %s", op.Path)
		}
	}
	again, err := Mutate(r.Object, nil, defaults)
	if err != nil || len(again.Patch) != 0 {
		t.Errorf("second Mutate: patch %v, err %v; want no change", again.Patch, err)
	}
}

func TestMutateEmptyMetadata(t *testing.T) {
	in := isvc(t, `
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: m, namespace: n, annotations: {maas.io/expose: "true"}}
`)
	in.SetAnnotations(map[string]string{annotations.Expose: "true"})
	r, err := Mutate(in, nil, defaults)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Object.Object, applyPatch(t, in, r)); diff != "" {
		t.Errorf("patched object (-want +got):\n%s", diff)
	}
}

func TestMutateGolden(t *testing.T) {
	// The example models of the README are the inputs; invalid.yaml is tested by render.
	files, _ := filepath.Glob("../../examples/inferenceservices/*.yaml")
	if len(files) < 3 {
		t.Fatal("no golden inputs")
	}
	for _, f := range files {
		if filepath.Base(f) == "invalid.yaml" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Mutate(isvc(t, string(data)), nil, defaults)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(r.Patch, "", "  ")
			golden := filepath.Join("testdata", strings.TrimSuffix(filepath.Base(f), ".yaml")+".patch.json")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(got))); diff != "" {
				t.Errorf("patch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMutateSkips(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		nsLbls map[string]string
		want   string
	}{
		{"other kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {maas.io/expose: 'true'}}", nil, SkipNotInferenceService},
		{"not annotated", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m, annotations: {maas.io/plans: 'x y'}}", nil, SkipNotAnnotated},
		{"object opt-out", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m, labels: {maas.io/opt-out: 'true'}, annotations: {maas.io/expose: 'true'}}", nil, SkipOptedOut},
		{"namespace opt-out", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m, annotations: {maas.io/expose: 'true'}}", map[string]string{annotations.OptOut: "true"}, SkipOptedOut},
		{"being deleted", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m, deletionTimestamp: '2026-12-01T00:00:00Z', finalizers: [example.com/x], annotations: {maas.io/expose: 'true'}}", nil, SkipDeleting},
		{"expose false", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m, annotations: {maas.io/expose: 'false'}}", nil, SkipNotExposed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := isvc(t, tt.doc)
			r, err := Mutate(in, tt.nsLbls, defaults)
			if err != nil {
				t.Fatal(err)
			}
			if r.Skipped != tt.want || len(r.Patch) != 0 || r.Object != in {
				t.Errorf("Mutate = skipped %q, patch %v; want skipped %q, no patch, the input back", r.Skipped, r.Patch, tt.want)
			}
		})
	}
}

func TestMutateErrors(t *testing.T) {
	tests := []struct {
		name     string
		ann      string
		sentinel error
		key      string
	}{
		{"expose yes", `{maas.io/expose: "yes"}`, annotations.ErrInvalidValue, annotations.Expose},
		{"system name with spaces", `{maas.io/expose: "true", maas.io/system-name: "my model"}`, annotations.ErrInvalidValue, annotations.SystemName},
		{"unknown plan", `{maas.io/expose: "true", maas.io/plans: gold}`, annotations.ErrUnknownPlan, annotations.Plans},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := isvc(t, "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: m\n  annotations: "+tt.ann)
			_, err := Mutate(in, nil, defaults)
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("Mutate error = %v, want %v naming %s", err, tt.sentinel, tt.key)
			}
		})
	}
}
