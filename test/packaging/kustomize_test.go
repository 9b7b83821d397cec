package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/config"
)

// overlays maps each kustomize overlay to the chart values that give the same objects
// (release maas-webhook in maas-system).
var overlays = map[string][]string{
	"cert-manager": {"tls.mode=cert-manager"},
	"self-managed": {"tls.mode=self-managed"},
	"openshift": {"tls.mode=service-ca",
		"networkPolicy.metrics.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=null",
		"networkPolicy.metrics.namespaceSelector.matchLabels.network\\.openshift\\.io/policy-group=monitoring"},
}

// manifestsDir is manifests/, or, while manifests/base/mutatingwebhook.yaml does not
// exist yet, a temporary copy with a stand-in made from the chart's template.
func manifestsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "manifests")
	if fileExists(filepath.Join(dir, "base", "mutatingwebhook.yaml")) {
		return dir
	}
	t.Logf("manifests/base/mutatingwebhook.yaml does not exist yet: building a temporary copy of manifests/ with a stand-in from the chart")
	tmp := filepath.Join(t.TempDir(), "manifests")
	if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	objs, err := RenderChart(Release{Set: []string{"config.threescale.adminURL=https://admin.example.com", "tls.mode=self-managed"}})
	if err != nil {
		t.Fatal(err)
	}
	mwc := Find(objs, "MutatingWebhookConfiguration", "maas-webhook")[0].DeepCopy()
	mwc.SetLabels(nil)
	data, err := yaml.Marshal(mwc.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "base", "mutatingwebhook.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return tmp
}

func buildOverlay(t *testing.T, dir, overlay string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := BuildKustomization(filepath.Join(dir, "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestKustomizeBuilds(t *testing.T) {
	mustTool(t, "kustomize")
	mustTool(t, "helm")
	dir := manifestsDir(t)
	entries, err := os.ReadDir(filepath.Join(dir, "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := overlays[e.Name()]; !ok {
			t.Errorf("overlay %s has no chart equivalent in the test's table", e.Name())
		}
	}
	for overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			objs := buildOverlay(t, dir, overlay)
			checkNoWildcards(t, objs)
			checkRestricted(t, objs)
			checkControllerConfig(t, objs)
			checkDeployment(t, objs)
		})
	}
}

// TestKustomizeMatchesChart checks that each overlay gives the objects the chart gives
// with the matching values: the same kinds and names, and the same content apart from
// labels, the config checksum annotation and the generated ConfigMap's hash suffix.
// The controller configuration is compared as pkg/config decodes it.
func TestKustomizeMatchesChart(t *testing.T) {
	mustTool(t, "kustomize")
	mustTool(t, "helm")
	dir := manifestsDir(t)
	for overlay, set := range overlays {
		t.Run(overlay, func(t *testing.T) {
			kobjs := buildOverlay(t, dir, overlay)
			hobjs, err := RenderChart(Release{Set: append([]string{"config.threescale.adminURL=https://maas-admin.apps.example.com"}, set...)})
			if err != nil {
				t.Fatal(err)
			}
			k, h := comparable(t, kobjs), comparable(t, hobjs)
			for id, want := range h {
				got, ok := k[id]
				if !ok {
					t.Errorf("%s: rendered by the chart, missing from the overlay", id)
					continue
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s differs (-chart +kustomize):\n%s", id, diff)
				}
			}
			for id := range k {
				if _, ok := h[id]; !ok {
					t.Errorf("%s: in the overlay, not rendered by the chart", id)
				}
			}
		})
	}
}

var configMapHash = regexp.MustCompile(`^(.*-config)-[a-z0-9]{10}$`)

// comparable normalises objects for TestKustomizeMatchesChart, by kind/namespace/name.
// The Namespace (created by helm --create-namespace) is left out, and so are the
// webhooks of the MutatingWebhookConfiguration, which TestChartWebhookMatchesBase
// compares with manifests/base/mutatingwebhook.yaml.
func comparable(t *testing.T, objs []*unstructured.Unstructured) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		o = o.DeepCopy()
		o.SetLabels(nil)
		if m := configMapHash.FindStringSubmatch(o.GetName()); m != nil && o.GetKind() == "ConfigMap" {
			o.SetName(m[1])
		}
		switch o.GetKind() {
		case "Deployment":
			unstructured.RemoveNestedField(o.Object, "spec", "template", "metadata", "annotations", "checksum/config")
			if a, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "metadata", "annotations"); len(a) == 0 {
				unstructured.RemoveNestedField(o.Object, "spec", "template", "metadata", "annotations")
			}
			volumes, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
			for _, v := range volumes {
				if name, ok, _ := unstructured.NestedString(v.(map[string]any), "configMap", "name"); ok {
					if m := configMapHash.FindStringSubmatch(name); m != nil {
						_ = unstructured.SetNestedField(v.(map[string]any), m[1], "configMap", "name")
					}
				}
			}
			_ = unstructured.SetNestedSlice(o.Object, volumes, "spec", "template", "spec", "volumes")
		case "MutatingWebhookConfiguration":
			unstructured.RemoveNestedField(o.Object, "webhooks")
		case "ConfigMap":
			if data, ok, _ := unstructured.NestedString(o.Object, "data", "config.yaml"); ok {
				c, err := config.Parse([]byte(data))
				if err != nil {
					t.Fatalf("ConfigMap %s: %v", o.GetName(), err)
				}
				js, err := yaml.Marshal(c)
				if err != nil {
					t.Fatal(err)
				}
				_ = unstructured.SetNestedField(o.Object, string(js), "data", "config.yaml")
			}
		}
		if len(o.GetAnnotations()) == 0 {
			o.SetAnnotations(nil)
		}
		id := strings.Join([]string{o.GetKind(), o.GetNamespace(), o.GetName()}, "/")
		out[id] = normalizeNumbers(o.Object).(map[string]any)
	}
	return out
}
