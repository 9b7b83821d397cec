package packaging

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/maas-io/maas-webhook/test/testenv"
)

func init() {
	// The clients log nothing the tests need.
	log.SetLogger(logr.Discard())
}

// prometheusOperator is the ServiceMonitor CRD, for the value sets that enable it.
var prometheusOperator = testenv.CRDSet{
	Module: "github.com/prometheus-operator/prometheus-operator@v0.85.0",
	Paths:  []string{"example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"},
}

// TestAgainstAPIServer runs the checks that need a real kube-apiserver, sharing one.
func TestAgainstAPIServer(t *testing.T) {
	mustTool(t, "helm")
	mustTool(t, "kustomize")
	env := testenv.Start(t, []testenv.CRDSet{testenv.KServe, testenv.ThreeScaleOperator, testenv.CertManager, prometheusOperator})
	ctx := t.Context()

	t.Run("dry-run", func(t *testing.T) {
		t.Run("schema mistakes fail", func(t *testing.T) { testDryRunCatches(t, ctx, env.Client) })
		for _, vs := range ciValueSets(t) {
			t.Run("chart/"+filepath.Base(vs), func(t *testing.T) {
				objs, err := RenderChart(Release{ValuesFiles: []string{vs}})
				if err != nil {
					t.Fatal(err)
				}
				dryRunApply(t, ctx, env.Client, objs)
			})
		}
		dir := manifestsDir(t)
		for overlay := range overlays {
			t.Run("kustomize/"+overlay, func(t *testing.T) {
				dryRunApply(t, ctx, env.Client, buildOverlay(t, dir, overlay))
			})
		}
	})
	t.Run("rbac/controller", func(t *testing.T) { testControllerRBAC(t, ctx, env) })
	t.Run("rbac/bootstrap", func(t *testing.T) { testBootstrapRBAC(t, ctx, env) })
}

// dryRunApply server-side applies every object with dryRun=All, after creating the
// namespaces, so the API server validates each against its schema (CRDs included).
func dryRunApply(t *testing.T, ctx context.Context, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	if err := EnsureNamespaces(ctx, c, objs); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner(FieldOwner), client.ForceOwnership, client.DryRunAll); err != nil {
			t.Errorf("%s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// testDryRunCatches makes sure a dry-run apply refuses what it is there to catch.
func testDryRunCatches(t *testing.T, ctx context.Context, c client.Client) {
	objs, err := RenderChart(Release{Set: []string{"config.threescale.adminURL=https://admin.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureNamespaces(ctx, c, objs); err != nil {
		t.Fatal(err)
	}
	breakages := map[string]struct {
		kind string
		edit func(o *unstructured.Unstructured)
	}{
		"unknown Deployment field": {"Deployment", func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, int64(1), "spec", "replicaz")
		}},
		"unknown Certificate field (CRD schema)": {"Certificate", func(o *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(o.Object, "x", "spec", "issuer")
		}},
		"invalid webhook failure policy": {"MutatingWebhookConfiguration", func(o *unstructured.Unstructured) {
			webhooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
			webhooks[0].(map[string]any)["failurePolicy"] = "Sometimes"
			_ = unstructured.SetNestedSlice(o.Object, webhooks, "webhooks")
		}},
	}
	for name, b := range breakages {
		found := Find(objs, b.kind, "")
		if len(found) == 0 {
			t.Fatalf("%s: no %s rendered", name, b.kind)
		}
		o := found[0].DeepCopy()
		b.edit(o)
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner(FieldOwner), client.ForceOwnership, client.DryRunAll); err == nil {
			t.Errorf("%s: the dry-run accepted it", name)
		}
	}
}

// access is one access check: verb on group/resource[/subresource] [name] in namespace
// ("" for cluster-wide or cluster-scoped).
type access struct {
	verb, group, resource, subresource, namespace, name string
}

func (a access) attrs() authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace, Name: a.name}
}

func (a access) String() string {
	s := a.verb + " " + a.resource
	if a.group != "" {
		s += "." + a.group
	}
	if a.subresource != "" {
		s += "/" + a.subresource
	}
	if a.name != "" {
		s += " " + a.name
	}
	if a.namespace != "" {
		return s + " in " + a.namespace
	}
	return s + " cluster-wide"
}

// checkAccess asks, as the impersonated ServiceAccount, for each allowed and denied check.
func checkAccess(t *testing.T, ctx context.Context, sa client.Client, allowed, denied []access) {
	t.Helper()
	for _, a := range allowed {
		ok, err := Can(ctx, sa, a.attrs())
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("not allowed to %s", a)
		}
	}
	for _, a := range denied {
		ok, err := Can(ctx, sa, a.attrs())
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Errorf("allowed to %s", a)
		}
	}
}

func saClient(t *testing.T, ctx context.Context, env *testenv.Env, objs []*unstructured.Unstructured, namespace, name string, ready access) client.Client {
	t.Helper()
	cfg, err := ServiceAccountConfig(ctx, env.Client, env.Config, objs, namespace, name, ready.attrs())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	isvcGroup = "serving.kserve.io"
	models    = "models"
)

// testControllerRBAC proves the controller's RBAC sufficient for what the code does and
// tight around it, as the ServiceAccount itself. The self-managed TLS mode is the one
// that grants the most.
func testControllerRBAC(t *testing.T, ctx context.Context, env *testenv.Env) {
	const ns, sa, token, tlsSecret, mwc = "rbac-controller", "maas-webhook", "threescale-admin-token", "maas-webhook-tls", "maas-webhook"
	objs, err := RenderChart(Release{Namespace: ns, Set: []string{"config.threescale.adminURL=https://admin.example.com", "tls.mode=self-managed"}})
	if err != nil {
		t.Fatal(err)
	}
	c := saClient(t, ctx, env, objs, ns, sa, access{verb: "watch", group: isvcGroup, resource: "inferenceservices"})
	allowed := []access{
		{verb: "list", group: isvcGroup, resource: "inferenceservices"},
		{verb: "watch", group: isvcGroup, resource: "inferenceservices"},
		{verb: "get", group: isvcGroup, resource: "inferenceservices", namespace: models, name: "m"},
		{verb: "patch", group: isvcGroup, resource: "inferenceservices", namespace: models, name: "m"},
		{verb: "update", group: isvcGroup, resource: "inferenceservices", namespace: models, name: "m"},
		{verb: "get", group: isvcGroup, resource: "inferenceservices", subresource: "status", namespace: models, name: "m"},
		{verb: "get", resource: "namespaces", name: models},
		{verb: "list", resource: "namespaces"},
		{verb: "watch", resource: "namespaces"},
		{verb: "get", resource: "configmaps", namespace: models, name: "spec"},
		{verb: "list", resource: "configmaps"},
		{verb: "watch", resource: "configmaps"},
		{verb: "create", resource: "events", namespace: models},
		{verb: "patch", resource: "events", namespace: models, name: "e"},
		{verb: "create", group: "events.k8s.io", resource: "events", namespace: models},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: ns, name: "maas-webhook-leader"},
		{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: ns},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: ns, name: "maas-webhook-leader"},
		{verb: "get", resource: "secrets", namespace: ns, name: token},
		{verb: "create", resource: "secrets", namespace: ns},
		{verb: "get", resource: "secrets", namespace: ns, name: tlsSecret},
		{verb: "update", resource: "secrets", namespace: ns, name: tlsSecret},
		{verb: "get", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: mwc},
		{verb: "patch", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: mwc},
		{verb: "update", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: mwc},
	}
	denied := []access{
		{verb: "list", resource: "secrets"},
		{verb: "list", resource: "secrets", namespace: ns},
		{verb: "watch", resource: "secrets", namespace: ns},
		{verb: "get", resource: "secrets", namespace: ns, name: "someone-elses"},
		{verb: "get", resource: "secrets", namespace: models, name: token},
		{verb: "update", resource: "secrets", namespace: ns, name: token},
		{verb: "delete", resource: "secrets", namespace: ns, name: tlsSecret},
		{verb: "create", resource: "secrets", namespace: models},
		{verb: "create", group: isvcGroup, resource: "inferenceservices", namespace: models},
		{verb: "delete", group: isvcGroup, resource: "inferenceservices", namespace: models, name: "m"},
		{verb: "update", group: isvcGroup, resource: "inferenceservices", subresource: "status", namespace: models, name: "m"},
		{verb: "update", resource: "configmaps", namespace: models, name: "spec"},
		{verb: "update", resource: "namespaces", name: models},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: models, name: "l"},
		{verb: "list", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations"},
		{verb: "patch", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "another"},
		{verb: "create", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations"},
		{verb: "list", resource: "pods"},
		{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: ns, name: sa},
	}
	checkAccess(t, ctx, c, allowed, denied)

	// And real calls, as the ServiceAccount.
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: models}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	isvcs := &unstructured.UnstructuredList{}
	isvcs.SetGroupVersionKind(schema.GroupVersionKind{Group: isvcGroup, Version: "v1beta1", Kind: "InferenceServiceList"})
	if err := c.List(ctx, isvcs); err != nil {
		t.Errorf("listing InferenceServices: %v", err)
	}
	if err := c.List(ctx, &corev1.NamespaceList{}); err != nil {
		t.Errorf("listing namespaces: %v", err)
	}
	event := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "m.packaging-test", Namespace: models},
		EventTime:           metav1.NowMicro(),
		Reason:              "Synced",
		Action:              "Sync",
		Type:                corev1.EventTypeNormal,
		ReportingController: "maas.io/webhook",
		ReportingInstance:   "maas-webhook-0",
		Regarding:           corev1.ObjectReference{APIVersion: isvcGroup + "/v1beta1", Kind: "InferenceService", Namespace: models, Name: "m"},
	}
	if err := c.Create(ctx, event); err != nil {
		t.Errorf("creating an Event: %v", err)
	}
	if err := c.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets cluster-wide: got %v, want Forbidden", err)
	}
	if err := c.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)); !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets in %s: got %v, want Forbidden", ns, err)
	}
}

// testBootstrapRBAC does the same for the bootstrap Job's ServiceAccount.
func testBootstrapRBAC(t *testing.T, ctx context.Context, env *testenv.Env) {
	const ns, sa, operatorNS = "rbac-bootstrap", "maas-webhook-bootstrap", "threescale"
	objs, err := RenderChart(Release{Namespace: ns, ValuesFiles: []string{"ci/bootstrap-values.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	c := saClient(t, ctx, env, objs, ns, sa, access{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"})
	allowed := []access{
		{verb: "get", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", name: "apimanagers.apps.3scale.net"},
		{verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
		{verb: "get", group: "apps.3scale.net", resource: "apimanagers", namespace: operatorNS, name: "apimanager"},
		{verb: "list", group: "apps.3scale.net", resource: "apimanagers", namespace: operatorNS},
		{verb: "create", group: "apps.3scale.net", resource: "apimanagers", namespace: operatorNS},
		{verb: "patch", group: "apps.3scale.net", resource: "apimanagers", namespace: operatorNS, name: "apimanager"},
		{verb: "get", group: "capabilities.3scale.net", resource: "custompolicydefinitions", namespace: operatorNS, name: "llm-metrics"},
		{verb: "create", group: "capabilities.3scale.net", resource: "custompolicydefinitions", namespace: operatorNS},
		{verb: "patch", group: "capabilities.3scale.net", resource: "custompolicydefinitions", namespace: operatorNS, name: "llm-metrics"},
		{verb: "get", resource: "secrets", namespace: operatorNS, name: "system-seed"},
		{verb: "get", resource: "secrets", namespace: operatorNS, name: "llm-metrics-policy"},
		{verb: "create", resource: "secrets", namespace: ns},
		{verb: "get", resource: "secrets", namespace: ns, name: "maas-sso-client"},
		{verb: "update", resource: "secrets", namespace: ns, name: "maas-sso-client"},
		{verb: "get", resource: "secrets", namespace: ns, name: "sso-admin-client"},
		{verb: "get", resource: "secrets", namespace: ns, name: "github-oauth"},
	}
	denied := []access{
		{verb: "list", resource: "secrets"},
		{verb: "list", resource: "secrets", namespace: ns},
		{verb: "get", resource: "secrets", namespace: ns, name: "someone-elses"},
		{verb: "update", resource: "secrets", namespace: ns, name: "sso-admin-client"},
		{verb: "create", resource: "secrets", namespace: operatorNS},
		{verb: "update", resource: "secrets", namespace: operatorNS, name: "system-seed"},
		{verb: "delete", group: "apps.3scale.net", resource: "apimanagers", namespace: operatorNS, name: "apimanager"},
		{verb: "create", group: "apps.3scale.net", resource: "apimanagers", namespace: ns},
		{verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
		{verb: "get", group: isvcGroup, resource: "inferenceservices", namespace: models, name: "m"},
		{verb: "create", group: "cert-manager.io", resource: "certificates", namespace: ns},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: ns, name: "l"},
	}
	checkAccess(t, ctx, c, allowed, denied)

	if err := c.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)); !apierrors.IsForbidden(err) {
		t.Errorf("listing Secrets in %s: got %v, want Forbidden", ns, err)
	}
}
