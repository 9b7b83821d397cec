package plan_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/sync/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func loadConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(filepath.Join("..", "..", "..", "examples", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// readyView reads an example InferenceService and gives it a UID and the status KServe
// would write in standard mode.
func readyView(t *testing.T, file string) plan.View {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "inferenceservices", file))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetUID("3f6c2a1e-0000-4000-8000-000000000001")
	status := map[string]any{
		"address":    map[string]any{"url": "http://" + u.GetName() + "-predictor." + u.GetNamespace() + ".svc.cluster.local"},
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
	}
	if err := unstructured.SetNestedMap(u.Object, status, "status"); err != nil {
		t.Fatal(err)
	}
	return plan.ViewFromObject(u)
}

func TestPlanGolden(t *testing.T) {
	cfg := loadConfig(t)
	for _, file := range []string{"granite-chat.yaml", "code-model.yaml", "embeddings.yaml"} {
		t.Run(file, func(t *testing.T) {
			d, err := plan.Plan(readyView(t, file), cfg)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			got, err := plan.MarshalYAML(d)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(file, ".yaml")+".plan.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("plan of %s (-want +got):\n%s", file, diff)
			}
		})
	}
}

// TestPlanWebhookBypassed checks that the controller's defaults equal the webhook's:
// planning an object whose annotations the webhook already defaulted gives the same
// result as planning the raw object.
func TestPlanWebhookBypassed(t *testing.T) {
	cfg := loadConfig(t)
	v := readyView(t, "granite-chat.yaml")
	raw, err := plan.Plan(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := plan.Spec(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defaulted := v
	defaulted.Annotations = annotations.Render(s)
	defaulted.Annotations[annotations.OpenShiftDisplayName] = v.Annotations[annotations.OpenShiftDisplayName]
	got, err := plan.Plan(defaulted, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(raw, got); diff != "" {
		t.Errorf("plan with webhook defaults (-want +got):\n%s", diff)
	}
	if raw.Sections().Hash() != got.Sections().Hash() {
		t.Error("hashes differ")
	}
}

func TestPlanReadinessAndErrors(t *testing.T) {
	cfg := loadConfig(t)
	v := readyView(t, "granite-chat.yaml")
	s, err := plan.Spec(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(*plan.View)
		waiting bool
		url     string
	}{
		{name: "ready with address", mutate: func(*plan.View) {}, url: "http://granite-3-1-8b-instruct-predictor.models.svc.cluster.local"},
		{name: "not ready", mutate: func(v *plan.View) { v.Ready = false }, waiting: true, url: "http://granite-3-1-8b-instruct-predictor.models.svc.cluster.local"},
		{name: "predictor fallback", mutate: func(v *plan.View) { v.AddressURL, v.PredictorURL = "", "http://p.models.svc" }, url: "http://p.models.svc"},
		{name: "no address", mutate: func(v *plan.View) { v.AddressURL = "" }, waiting: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := v
			tt.mutate(&v)
			if got := v.WaitingReason(s) != ""; got != tt.waiting {
				t.Errorf("waiting = %v, want %v", got, tt.waiting)
			}
			u, err := v.PrivateURL(s)
			if tt.url == "" {
				if !errors.Is(err, plan.ErrNoPrivateURL) {
					t.Errorf("PrivateURL error = %v, want ErrNoPrivateURL", err)
				}
				return
			}
			if diff := cmp.Diff(tt.url, u); diff != "" {
				t.Errorf("PrivateURL (-want +got):\n%s", diff)
			}
		})
	}

	override := v
	override.Annotations = map[string]string{annotations.Expose: "true", annotations.BackendURL: "https://m.example.com"}
	d, err := plan.Plan(override, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("https://m.example.com:443", d.Backend.PrivateEndpoint); diff != "" {
		t.Errorf("backend-url override (-want +got):\n%s", diff)
	}

	bad := v
	bad.Annotations = map[string]string{annotations.Expose: "true", annotations.Plans: "gold"}
	if _, err := plan.Plan(bad, cfg); !errors.Is(err, annotations.ErrUnknownPlan) {
		t.Errorf("unknown plan: error = %v, want ErrUnknownPlan", err)
	}

	cm := v
	cm.Annotations = map[string]string{annotations.Expose: "true", annotations.OpenAPI: "spec"}
	cm.OpenAPISpec = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n"
	d, err = plan.Plan(cm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.ActiveDoc == nil || d.ActiveDoc.ServerFromEndpoint || !strings.HasPrefix(d.ActiveDoc.Body, `{"info"`) {
		t.Errorf("ConfigMap spec not used as JSON: %+v", d.ActiveDoc)
	}
	cm.OpenAPISpec = "- not an object"
	if _, err := plan.Plan(cm, cfg); !errors.Is(err, plan.ErrInvalidOpenAPI) {
		t.Errorf("bad spec: error = %v, want ErrInvalidOpenAPI", err)
	}

	none := v
	none.Annotations = map[string]string{annotations.Expose: "true", annotations.OpenAPI: "none"}
	if d, err := plan.Plan(none, cfg); err != nil || d.ActiveDoc != nil {
		t.Errorf("openapi none: doc = %v, err = %v", d.ActiveDoc, err)
	}
}

func TestSectionsChanged(t *testing.T) {
	cfg := loadConfig(t)
	v := readyView(t, "code-model.yaml")
	before, err := plan.Plan(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v.Annotations = map[string]string{}
	for k, val := range readyView(t, "code-model.yaml").Annotations {
		v.Annotations[k] = val
	}
	v.Annotations[annotations.Plans] = "basic"
	after, err := plan.Plan(v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	applied := plan.ParseSections(before.Sections().String())
	if diff := cmp.Diff([]string{"plan/premium"}, after.Sections().Changed(applied)); diff != "" {
		t.Errorf("changed sections (-want +got):\n%s", diff)
	}
	if after.Sections().Hash() == before.Sections().Hash() {
		t.Error("hash did not change")
	}
}
