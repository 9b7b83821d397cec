package packaging

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestHelmLint(t *testing.T) {
	mustTool(t, "helm")
	dir, err := ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, vs := range ciValueSets(t) {
		t.Run(filepath.Base(vs), func(t *testing.T) {
			out, err := Run("helm", "lint", "--strict", dir, "--kube-version", KubeVersion, "--values", filepath.Join(dir, vs))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestChartRenders(t *testing.T) {
	mustTool(t, "helm")
	for _, vs := range ciValueSets(t) {
		t.Run(filepath.Base(vs), func(t *testing.T) {
			objs, err := RenderChart(Release{ValuesFiles: []string{vs}})
			if err != nil {
				t.Fatal(err)
			}
			checkNoWildcards(t, objs)
			checkRestricted(t, objs)
			checkControllerConfig(t, objs)
			checkBootstrapConfig(t, objs)
			checkDeployment(t, objs)
			for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "MutatingWebhookConfiguration"} {
				if len(Find(objs, kind, "")) == 0 {
					t.Errorf("no %s rendered", kind)
				}
			}
		})
	}
}

// checkDeployment checks the `webhook serve` flags against the objects they name.
func checkDeployment(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	deps := Find(objs, "Deployment", "")
	if len(deps) != 1 {
		t.Fatalf("want one Deployment, got %d", len(deps))
	}
	d := deps[0]
	args := containerArgs(t, d)
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("args %v do not start with serve", args)
	}
	ns := d.GetNamespace()
	sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
	for _, f := range []string{"config", "webhook-port", "cert-dir", "tls-mode", "webhook-service-name", "webhook-service-namespace",
		"webhook-config-name", "tls-secret-name", "health-probe-bind-address", "metrics-bind-address", "leader-elect",
		"leader-election-namespace", "controller-service-account"} {
		if _, ok := flagValue(args, f); !ok {
			t.Errorf("flag --%s missing from %v", f, args)
		}
	}
	want := map[string]string{
		"webhook-service-namespace":  ns,
		"leader-election-namespace":  ns,
		"controller-service-account": "system:serviceaccount:" + ns + ":" + sa,
		"config":                     "/etc/maas/config.yaml",
		"cert-dir":                   "/tmp/k8s-webhook-server/serving-certs",
	}
	for f, v := range want {
		if got, _ := flagValue(args, f); got != v {
			t.Errorf("--%s=%q, want %q", f, got, v)
		}
	}
	svc, _ := flagValue(args, "webhook-service-name")
	if len(Find(objs, "Service", svc)) != 1 {
		t.Errorf("--webhook-service-name=%s names no rendered Service", svc)
	}
	mwc, _ := flagValue(args, "webhook-config-name")
	if len(Find(objs, "MutatingWebhookConfiguration", mwc)) != 1 {
		t.Errorf("--webhook-config-name=%s names no rendered MutatingWebhookConfiguration", mwc)
	}
	if len(Find(objs, "ServiceAccount", sa)) != 1 && !slices.ContainsFunc(Find(objs, "ClusterRoleBinding", ""), func(b *unstructured.Unstructured) bool {
		subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
		return len(subjects) > 0 && subjects[0].(map[string]any)["name"] == sa
	}) {
		t.Errorf("ServiceAccount %s is neither rendered nor bound", sa)
	}
	mode, _ := flagValue(args, "tls-mode")
	if mode != "files" && mode != "self-managed" {
		t.Errorf("--tls-mode=%s", mode)
	}
	// In files mode the serving certificate comes from the Secret that --tls-secret-name names.
	secret, _ := flagValue(args, "tls-secret-name")
	volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	mounted := slices.ContainsFunc(volumes, func(v any) bool {
		name, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
		return name == secret
	})
	if mounted != (mode == "files") {
		t.Errorf("--tls-mode=%s but Secret %s mounted: %v", mode, secret, mounted)
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if got, _, _ := unstructured.NestedString(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path %q, want %q", probe, got, path)
		}
	}
	env, _, _ := unstructured.NestedSlice(c, "env")
	if !slices.ContainsFunc(env, func(e any) bool {
		p, _, _ := unstructured.NestedString(e.(map[string]any), "valueFrom", "fieldRef", "fieldPath")
		return e.(map[string]any)["name"] == "POD_NAMESPACE" && p == "metadata.namespace"
	}) {
		t.Error("POD_NAMESPACE does not come from the downward API")
	}
}

func TestChartOptionalObjects(t *testing.T) {
	mustTool(t, "helm")
	base := []string{"config.threescale.adminURL=https://admin.example.com"}
	cases := []struct {
		name    string
		set     []string
		present []string
		absent  []string
	}{
		{name: "defaults", present: []string{"Issuer", "Certificate", "NetworkPolicy", "PodDisruptionBudget"},
			absent: []string{"ServiceMonitor", "Job"}},
		{name: "service monitor", set: []string{"metrics.serviceMonitor.enabled=true"}, present: []string{"ServiceMonitor"}},
		{name: "self-managed", set: []string{"tls.mode=self-managed"}, absent: []string{"Issuer", "Certificate"}},
		{name: "service-ca", set: []string{"tls.mode=service-ca"}, absent: []string{"Issuer", "Certificate"}},
		{name: "existing issuer", set: []string{"tls.certManager.issuerRef.name=ca", "tls.certManager.issuerRef.kind=ClusterIssuer"},
			present: []string{"Certificate"}, absent: []string{"Issuer"}},
		{name: "no network policy nor PDB", set: []string{"networkPolicy.enabled=false", "podDisruptionBudget.enabled=false"},
			absent: []string{"NetworkPolicy", "PodDisruptionBudget"}},
		{name: "bootstrap", set: []string{"bootstrap.enabled=true", "bootstrap.config.keycloak.url=https://sso.example.com", "bootstrap.config.threescale.portalHost=portal.example.com"},
			present: []string{"Job"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := RenderChart(Release{Set: append(slices.Clone(base), tc.set...)})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range tc.present {
				if len(Find(objs, k, "")) == 0 {
					t.Errorf("no %s rendered", k)
				}
			}
			for _, k := range tc.absent {
				if n := len(Find(objs, k, "")); n > 0 {
					t.Errorf("%d %s rendered", n, k)
				}
			}
			checkNoWildcards(t, objs)
		})
	}
}

func TestChartTLSModes(t *testing.T) {
	mustTool(t, "helm")
	for mode, want := range map[string]map[string]string{
		"cert-manager": {"cert-manager.io/inject-ca-from": "maas-system/maas-webhook-serving-cert"},
		"service-ca":   {"service.beta.openshift.io/inject-cabundle": "true"},
		"self-managed": nil,
	} {
		t.Run(mode, func(t *testing.T) {
			objs, err := RenderChart(Release{Set: []string{"config.threescale.adminURL=https://admin.example.com", "tls.mode=" + mode}})
			if err != nil {
				t.Fatal(err)
			}
			mwc := Find(objs, "MutatingWebhookConfiguration", "maas-webhook")
			if len(mwc) != 1 {
				t.Fatal("no MutatingWebhookConfiguration maas-webhook")
			}
			if diff := cmp.Diff(want, mwc[0].GetAnnotations()); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if mode == "cert-manager" {
				cert := Find(objs, "Certificate", "maas-webhook-serving-cert")
				if len(cert) != 1 {
					t.Fatal("the inject-ca-from annotation names no rendered Certificate")
				}
				dns, _, _ := unstructured.NestedStringSlice(cert[0].Object, "spec", "dnsNames")
				if !slices.Contains(dns, "maas-webhook.maas-system.svc") {
					t.Errorf("Certificate dnsNames %v miss the Service", dns)
				}
			}
			// Only the self-managed mode may touch the webhook configuration or write Secrets.
			var mwcRule, secretWrite bool
			for _, r := range append(Find(objs, "ClusterRole", ""), Find(objs, "Role", "")...) {
				rules, _, _ := unstructured.NestedSlice(r.Object, "rules")
				for _, rule := range rules {
					res, _, _ := unstructured.NestedStringSlice(rule.(map[string]any), "resources")
					verbs, _, _ := unstructured.NestedStringSlice(rule.(map[string]any), "verbs")
					mwcRule = mwcRule || slices.Contains(res, "mutatingwebhookconfigurations")
					secretWrite = secretWrite || (slices.Contains(res, "secrets") && slices.ContainsFunc(verbs, func(v string) bool { return v != "get" }))
				}
			}
			if mwcRule != (mode == "self-managed") || secretWrite != (mode == "self-managed") {
				t.Errorf("mode %s: webhook configuration access %v, Secret writes %v", mode, mwcRule, secretWrite)
			}
		})
	}
}

// TestChartSchemaRejects checks that values.schema.json refuses mistakes, and that
// credentials can only be Secret references, never values.
func TestChartSchemaRejects(t *testing.T) {
	mustTool(t, "helm")
	base := []string{"config.threescale.adminURL=https://admin.example.com"}
	cases := map[string][]string{
		"missing adminURL":               {"config.threescale.adminURL="},
		"3scale token as a value":        {"config.threescale.token=abc"},
		"token Secret value":             {"config.threescale.tokenSecretRef.value=abc"},
		"Keycloak password as value":     {"bootstrap.keycloak.adminPassword=abc"},
		"Keycloak admin secret data":     {"bootstrap.keycloak.adminSecretRef.password=abc"},
		"IdP secret as value":            {"bootstrap.keycloak.identityProvider.clientSecret=abc"},
		"unknown TLS mode":               {"tls.mode=manual"},
		"unknown failure policy":         {"webhook.failurePolicy=Retry"},
		"timeout above 30s":              {"webhook.timeoutSeconds=31"},
		"no replicas":                    {"replicaCount=0"},
		"misspelt value":                 {"replicas=3"},
		"bad duration":                   {"config.resyncPeriod=ten minutes"},
		"unknown limit metric":           {"config.plans[0].limits[0].metric=tokens"},
		"bootstrap without Keycloak URL": {"bootstrap.enabled=true", "bootstrap.keycloak.portalHost=p.example.com"},
		"APIManager without domain":      {"bootstrap.enabled=true", "bootstrap.keycloak.enabled=false", "bootstrap.threescaleOperator.createAPIManager=true"},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := TemplateChart(Release{Set: append(slices.Clone(base), set...)})
			if err == nil {
				t.Fatalf("helm template accepted %v:\n%s", set, out)
			}
			if !strings.Contains(err.Error(), "schema") {
				t.Errorf("refused, but not by the schema: %v", err)
			}
		})
	}
}

// TestChartWebhookMatchesBase keeps the chart's MutatingWebhookConfiguration and
// manifests/base/mutatingwebhook.yaml from drifting apart.
func TestChartWebhookMatchesBase(t *testing.T) {
	mustTool(t, "helm")
	path := filepath.Join(repoRoot(t), "manifests", "base", "mutatingwebhook.yaml")
	if !fileExists(path) {
		t.Skipf("%s does not exist yet; the chart's webhook configuration cannot be compared with it", path)
	}
	base, err := decodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	baseMWC := Find(base, "MutatingWebhookConfiguration", "")
	if len(baseMWC) != 1 {
		t.Fatalf("%s: want one MutatingWebhookConfiguration, got %d", path, len(baseMWC))
	}
	objs, err := RenderChart(Release{Set: []string{"config.threescale.adminURL=https://admin.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	chartMWC := Find(objs, "MutatingWebhookConfiguration", "")
	if len(chartMWC) != 1 {
		t.Fatalf("chart: want one MutatingWebhookConfiguration, got %d", len(chartMWC))
	}
	if diff := cmp.Diff(webhookContract(t, baseMWC[0]), webhookContract(t, chartMWC[0])); diff != "" {
		t.Errorf("chart template differs from %s (-base +chart):\n%s", path, diff)
	}
}

// webhookContract is what must be the same wherever the webhook is installed: the
// webhooks without their names and the Service they call (release-specific), keeping
// the path.
func webhookContract(t *testing.T, mwc *unstructured.Unstructured) []map[string]any {
	t.Helper()
	webhooks, _, _ := unstructured.NestedSlice(mwc.Object, "webhooks")
	var out []map[string]any
	for _, w := range webhooks {
		w := w.(map[string]any)
		c := map[string]any{}
		for _, k := range []string{"rules", "namespaceSelector", "objectSelector", "matchConditions", "failurePolicy",
			"timeoutSeconds", "sideEffects", "reinvocationPolicy", "admissionReviewVersions"} {
			c[k] = normalizeNumbers(w[k])
		}
		c["path"], _, _ = unstructured.NestedString(w, "clientConfig", "service", "path")
		out = append(out, c)
	}
	return out
}

// normalizeNumbers makes int64 and float64 of the same value compare equal.
func normalizeNumbers(v any) any {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case int:
		return float64(v)
	case map[string]any:
		m := map[string]any{}
		for k, e := range v {
			m[k] = normalizeNumbers(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = normalizeNumbers(e)
		}
		return s
	}
	return v
}
