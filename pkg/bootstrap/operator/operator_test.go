package operator_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/operator"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
)

func TestEnsureUpdatesOwnedFieldsOnly(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().Build()
	opts := operator.Options{
		Namespace:  "ns",
		APIManager: operator.APIManager{Name: "am", WildcardDomain: "apps.example.com", TenantName: "maas"},
		Policy: operator.Policy{Name: "llm-metrics", Version: "0.1", SecretName: "code", Summary: "s",
			Configuration: map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"minimum": 1}}}},
	}
	verbs := func(actions []report.Action) []string {
		var out []string
		for _, a := range actions {
			out = append(out, a.String())
		}
		return out
	}
	run := func() []string {
		t.Helper()
		actions, err := operator.Ensure(ctx, c, opts, false)
		if err != nil {
			t.Fatal(err)
		}
		return verbs(actions)
	}
	if diff := cmp.Diff([]string{"create CustomPolicyDefinition ns/llm-metrics", "create APIManager ns/am"}, run()); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"unchanged CustomPolicyDefinition ns/llm-metrics", "unchanged APIManager ns/am"}, run()); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}

	// A user edits the job's APIManager: the owned fields come back, the rest stays.
	am := &unstructured.Unstructured{}
	am.SetGroupVersionKind(operator.APIManagerGVK)
	if err := c.Get(ctx, opts.APIManagerKey(), am); err != nil {
		t.Fatal(err)
	}
	other := map[string]any{"name": "other", "version": "1", "secretRef": map[string]any{"name": "o"}}
	_ = unstructured.SetNestedField(am.Object, "someone", "spec", "tenantName")
	_ = unstructured.SetNestedSlice(am.Object, []any{other}, "spec", "apicast", "stagingSpec", "customPolicies")
	_ = unstructured.SetNestedField(am.Object, true, "spec", "resourceRequirementsEnabled")
	if err := c.Update(ctx, am); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"unchanged CustomPolicyDefinition ns/llm-metrics",
		"update APIManager ns/am (spec.tenantName, spec.apicast.stagingSpec.customPolicies)",
	}
	if diff := cmp.Diff(want, run()); diff != "" {
		t.Errorf("after the edit (-want +got):\n%s", diff)
	}
	if err := c.Get(ctx, opts.APIManagerKey(), am); err != nil {
		t.Fatal(err)
	}
	policies, _, _ := unstructured.NestedSlice(am.Object, "spec", "apicast", "stagingSpec", "customPolicies")
	wantPolicies := []any{other, map[string]any{"name": "llm-metrics", "version": "0.1", "secretRef": map[string]any{"name": "code"}}}
	if diff := cmp.Diff(wantPolicies, policies); diff != "" {
		t.Errorf("staging custom policies (-want +got):\n%s", diff)
	}
	if v, _, _ := unstructured.NestedBool(am.Object, "spec", "resourceRequirementsEnabled"); !v {
		t.Errorf("a field the job does not own was reset")
	}
}
