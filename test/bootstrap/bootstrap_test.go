// Package bootstrap_test runs the bootstrap job against a real kube-apiserver (with
// the 3scale operator's and cert-manager's CRDs), the Keycloak simulator and the 3scale
// simulator.
package bootstrap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	porta "github.com/3scale/3scale-porta-go-client/client"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/maas-io/maas-webhook/cmd/webhook/app"
	"github.com/maas-io/maas-webhook/pkg/bootstrap"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/kube"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/operator"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
	"github.com/maas-io/maas-webhook/pkg/threescale"
	kcsim "github.com/maas-io/maas-webhook/test/keycloak"
	"github.com/maas-io/maas-webhook/test/testenv"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// Secret values; the test checks that none of them reaches output, logs or errors.
const (
	adminUser     = "kc-admin"
	adminPassword = "kc-pass-5d1e0a77"
	idpSecret     = "gh-secret-9b2c4f10"
	tsToken       = "ts-token-3e8a61cd"
	portalHost    = "portal.apps.example.com"
)

var (
	envOnce sync.Once
	shared  *testenv.Env
	envErr  error
)

// env starts one control plane with both CRD sets for the package.
func env(t *testing.T) *testenv.Env {
	t.Helper()
	envOnce.Do(func() {
		shared, envErr = testenv.New([]testenv.CRDSet{testenv.ThreeScaleOperator, testenv.CertManager})
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}
	os.Exit(code)
}

// fixture is one namespace, fresh simulators and the configuration pointing at them.
type fixture struct {
	t      *testing.T
	c      client.Client
	ns     string
	kc     *kcsim.Server
	ts     *threescalesim.Server
	cfg    bootstrap.Config
	out    bytes.Buffer
	logs   bytes.Buffer
	errors []string
}

var nsCounter int

func newFixture(t *testing.T, e *testenv.Env) *fixture {
	t.Helper()
	scheme, err := bootstrap.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(e.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	nsCounter++
	ns := fmt.Sprintf("bootstrap-%d", nsCounter)
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	kc, kcURL := kcsim.NewTestServer(t, kcsim.WithAdminUser(adminUser, adminPassword))
	ts, tsServer := threescalesim.NewTestServer(t, threescalesim.Config{Token: tsToken})
	f := &fixture{t: t, c: c, ns: ns, kc: kc, ts: ts}
	f.secret("keycloak-admin", map[string]string{"username": adminUser, "password": adminPassword})
	f.secret("github-idp", map[string]string{"clientSecret": idpSecret})
	f.secret(bootstrap.SystemSeedSecret, map[string]string{bootstrap.SystemSeedTokenKey: tsToken})
	cfg := fmt.Sprintf(`
namespace: %[1]s
keycloak:
  url: %[2]s
  adminSecret: {name: keycloak-admin}
  identityProvider:
    alias: github
    providerID: github
    clientID: gh-client
    clientSecret: {name: github-idp, key: clientSecret}
threescale:
  adminURL: %[3]s
  portalHost: %[4]s
operator:
  apiManager:
    wildcardDomain: apps.example.com
    tenantName: maas
    fileStorageClass: fast-rwx
  policy:
    secretName: llm-metrics-code
    configuration:
      type: object
      properties:
        maxTokens: {type: integer, minimum: 1}
  availableTimeout: 1m
  pollInterval: 50ms
certManager:
  serviceName: maas-webhook
`, ns, kcURL, tsServer.URL, portalHost)
	f.cfg, err = bootstrap.ParseConfig([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) secret(name string, data map[string]string) {
	f.t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}, StringData: data}
	if err := f.c.Create(context.Background(), s); err != nil {
		f.t.Fatal(err)
	}
}

// run runs the job once, keeping its output, logs and error for the leak check.
func (f *fixture) run(dryRun bool) ([]report.Action, error) {
	f.t.Helper()
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(&f.logs, prefix, args) }, funcr.Options{Verbosity: 10})
	ctx := logr.NewContext(context.Background(), log)
	actions, err := bootstrap.Run(ctx, bootstrap.Options{Config: f.cfg, Client: f.c, DryRun: dryRun, Out: &f.out})
	if err != nil {
		f.errors = append(f.errors, err.Error())
	}
	return actions, err
}

func (f *fixture) mustRun(dryRun bool) []report.Action {
	f.t.Helper()
	actions, err := f.run(dryRun)
	if err != nil {
		f.t.Fatalf("Run: %v\noutput:\n%s", err, f.out.String())
	}
	return actions
}

func (f *fixture) apiManagerKey() client.ObjectKey {
	return client.ObjectKey{Namespace: f.ns, Name: bootstrap.DefaultAPIManagerName}
}

// markAvailable sets the APIManager's Available condition, through the status
// subresource, as the 3scale operator would.
func (f *fixture) markAvailable(ctx context.Context) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(operator.APIManagerGVK)
	if err := f.c.Get(ctx, f.apiManagerKey(), u); err != nil {
		return err
	}
	u.Object["status"] = map[string]any{
		"deployments": map[string]any{},
		"conditions":  []any{map[string]any{"type": "Available", "status": "True"}},
	}
	return f.c.Status().Update(ctx, u)
}

// markAvailableWhenCreated marks the APIManager Available once the job has created it.
func (f *fixture) markAvailableWhenCreated() {
	go func() {
		// The bound only keeps a broken test from hanging; it is no assertion.
		_ = wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			err := f.markAvailable(ctx)
			return err == nil, nil
		})
	}()
}

// resourceVersions of every object the job manages in the namespace.
func (f *fixture) resourceVersions() map[string]string {
	f.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	lists := []client.ObjectList{&corev1.SecretList{}, &cmapi.IssuerList{}, &cmapi.CertificateList{}}
	for _, gvk := range []struct{ group, version, kind string }{
		{operator.APIManagerGVK.Group, operator.APIManagerGVK.Version, "APIManagerList"},
		{operator.CustomPolicyDefinitionGVK.Group, operator.CustomPolicyDefinitionGVK.Version, "CustomPolicyDefinitionList"},
	} {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion(gvk.group + "/" + gvk.version)
		l.SetKind(gvk.kind)
		lists = append(lists, l)
	}
	for _, l := range lists {
		if err := f.c.List(ctx, l, client.InNamespace(f.ns)); err != nil {
			f.t.Fatal(err)
		}
		items, err := metaItems(l)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, o := range items {
			out[fmt.Sprintf("%T/%s", l, o.GetName())] = o.GetResourceVersion()
		}
	}
	return out
}

func metaItems(l client.ObjectList) ([]metav1.Object, error) {
	var out []metav1.Object
	switch l := l.(type) {
	case *corev1.SecretList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *cmapi.IssuerList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *cmapi.CertificateList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *unstructured.UnstructuredList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("unexpected list %T", l)
	}
	return out, nil
}

// threescaleWrites counts requests that are not reads.
func (f *fixture) threescaleWrites() []string {
	var out []string
	for _, r := range f.ts.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// checkNoLeak fails when a secret value appears in the output, logs or errors.
func (f *fixture) checkNoLeak() {
	f.t.Helper()
	secrets := []string{adminPassword, idpSecret, tsToken}
	if c, ok := f.keycloakClient(); ok {
		secrets = append(secrets, c.Secret)
	}
	all := f.out.String() + f.logs.String() + strings.Join(f.errors, "\n")
	for _, s := range secrets {
		if strings.Contains(all, s) {
			f.t.Errorf("a secret value appears in the output, logs or errors:\n%s", all)
		}
	}
}

func (f *fixture) keycloakClient() (kcsim.ClientState, bool) {
	rs, ok := f.kc.Snapshot().Realm(keycloak.DefaultRealm)
	if !ok {
		return kcsim.ClientState{}, false
	}
	return rs.Client(keycloak.ClientID)
}

func lines(actions []report.Action) []string {
	out := make([]string, 0, len(actions))
	for _, a := range actions {
		out = append(out, a.String())
	}
	return out
}

// firstRunActions are the lines of a first run on a fresh cluster, with realmVerb for
// the realm (create, or unchanged when it was there before).
func firstRunActions(ns, realmVerb string) []string {
	return []string{
		realmVerb + " realm maas",
		"create client 3scale",
		"create protocol mapper email verified",
		"create protocol mapper org_name",
		"create identity provider github",
		"create Secret " + ns + "/maas-sso-client",
		"create Issuer " + ns + "/maas-webhook-selfsigned",
		"create Certificate " + ns + "/maas-webhook",
		"create CustomPolicyDefinition " + ns + "/llm-metrics",
		"create APIManager " + ns + "/apimanager",
		"create SSO integration keycloak",
		"update provider account acme (site_access_code)",
		"unchanged settings tenant",
	}
}

func TestFirstRunCreatesSecondRunChangesNothing(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	ns := f.ns
	f.markAvailableWhenCreated()

	got := lines(f.mustRun(false))
	want := firstRunActions(ns, "create")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first run actions (-want +got):\n%s", diff)
	}
	for _, l := range want {
		if !strings.Contains(f.out.String(), l+"\n") {
			t.Errorf("output lacks %q:\n%s", l, f.out.String())
		}
	}
	if !strings.Contains(f.out.String(), "waiting for APIManager "+ns+"/apimanager to become Available") {
		t.Errorf("output lacks a progress line:\n%s", f.out.String())
	}

	// What the first run wrote.
	ctx := context.Background()
	kcClient, ok := f.keycloakClient()
	if !ok {
		t.Fatal("Keycloak client not created")
	}
	var sec corev1.Secret
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "maas-sso-client"}, &sec); err != nil {
		t.Fatal(err)
	}
	realmURL := f.cfg.Keycloak.URL + "/realms/maas"
	wantData := map[string]string{"CLIENT_ID": "3scale", "CLIENT_SECRET": kcClient.Secret, "REALM_URL": realmURL}
	gotData := map[string]string{}
	for k, v := range sec.Data {
		gotData[k] = string(v)
	}
	if diff := cmp.Diff(wantData, gotData); diff != "" {
		t.Errorf("client Secret data (-want +got):\n%s", diff)
	}
	st := f.ts.Snapshot()
	if len(st.AuthProviders) != 1 {
		t.Fatalf("SSO integrations = %d, want 1", len(st.AuthProviders))
	}
	ap := st.AuthProviders[0]
	gotAP := []any{ap.Kind, ap.ClientID, ap.ClientSecret == kcClient.Secret, ap.Site, ap.Published, ap.AutomaticallyApproveAccounts}
	if diff := cmp.Diff([]any{"keycloak", "3scale", true, realmURL, true, true}, gotAP); diff != "" {
		t.Errorf("SSO integration (kind, client id, secret matches, site, published, auto-approve) (-want +got):\n%s", diff)
	}
	if st.Provider.SiteAccessCode != "" {
		t.Errorf("site access code not removed")
	}
	if st.Settings["signups_enabled"] != "true" || st.Settings["account_approval_required"] != "false" {
		t.Errorf("settings = %v", st.Settings)
	}
	am := &unstructured.Unstructured{}
	am.SetGroupVersionKind(operator.APIManagerGVK)
	if err := f.c.Get(ctx, f.apiManagerKey(), am); err != nil {
		t.Fatal(err)
	}
	wantPolicies := []any{map[string]any{"name": "llm-metrics", "version": "0.1", "secretRef": map[string]any{"name": "llm-metrics-code"}}}
	for _, g := range []string{"stagingSpec", "productionSpec"} {
		p, _, _ := unstructured.NestedSlice(am.Object, "spec", "apicast", g, "customPolicies")
		if diff := cmp.Diff(wantPolicies, p); diff != "" {
			t.Errorf("%s custom policies (-want +got):\n%s", g, diff)
		}
	}
	sc, _, _ := unstructured.NestedString(am.Object, "spec", "system", "fileStorage", "persistentVolumeClaim", "storageClassName")
	td, _, _ := unstructured.NestedString(am.Object, "spec", "wildcardDomain")
	tn, _, _ := unstructured.NestedString(am.Object, "spec", "tenantName")
	if diff := cmp.Diff([]string{"fast-rwx", "apps.example.com", "maas"}, []string{sc, td, tn}); diff != "" {
		t.Errorf("APIManager storage class, domain, tenant (-want +got):\n%s", diff)
	}
	if !kube.IsManaged(am) {
		t.Errorf("APIManager lacks the managed-by label")
	}
	cpd := &unstructured.Unstructured{}
	cpd.SetGroupVersionKind(operator.CustomPolicyDefinitionGVK)
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "llm-metrics"}, cpd); err != nil {
		t.Fatal(err)
	}
	minimum, _, _ := unstructured.NestedInt64(cpd.Object, "spec", "schema", "configuration", "properties", "maxTokens", "minimum")
	if minimum != 1 {
		t.Errorf("policy configuration schema not stored: %v", cpd.Object["spec"])
	}
	var cert cmapi.Certificate
	if err := f.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "maas-webhook"}, &cert); err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"maas-webhook", "maas-webhook." + ns, "maas-webhook." + ns + ".svc", "maas-webhook." + ns + ".svc.cluster.local"}
	if diff := cmp.Diff(wantNames, cert.Spec.DNSNames); diff != "" {
		t.Errorf("Certificate DNS names (-want +got):\n%s", diff)
	}
	if cert.Spec.SecretName != "maas-webhook-tls" || cert.Spec.IssuerRef.Name != "maas-webhook-selfsigned" {
		t.Errorf("Certificate secret %q issuer %q", cert.Spec.SecretName, cert.Spec.IssuerRef.Name)
	}

	// The second run writes nothing anywhere.
	before := f.resourceVersions()
	f.kc.ResetCalls()
	f.ts.ResetRequests()
	for _, a := range f.mustRun(false) {
		if a.Verb != report.VerbUnchanged {
			t.Errorf("second run: %s", a)
		}
	}
	if n := f.kc.Writes(); n != 0 {
		t.Errorf("second run: %d Keycloak writes: %v", n, f.kc.Calls())
	}
	if w := f.threescaleWrites(); len(w) != 0 {
		t.Errorf("second run: 3scale writes %v", w)
	}
	if diff := cmp.Diff(before, f.resourceVersions()); diff != "" {
		t.Errorf("second run changed resourceVersions (-want +got):\n%s", diff)
	}

	// A dry run after that plans nothing and writes nothing either.
	f.out.Reset()
	for _, a := range f.mustRun(true) {
		if a.Verb != report.VerbUnchanged {
			t.Errorf("dry run: %s", a)
		}
	}
	if n := f.kc.Writes(); n != 0 {
		t.Errorf("dry run: %d Keycloak writes", n)
	}
	if w := f.threescaleWrites(); len(w) != 0 {
		t.Errorf("dry run: 3scale writes %v", w)
	}
	if diff := cmp.Diff(before, f.resourceVersions()); diff != "" {
		t.Errorf("dry run changed resourceVersions (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(f.out.String(), "(dry run) unchanged realm maas\n") {
		t.Errorf("dry run output:\n%s", f.out.String())
	}
}

func TestDryRunOnFreshClusterWritesNothing(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	before := f.resourceVersions()
	actions := f.mustRun(true)
	got := lines(actions)
	wantLast := "skip 3scale tenant " + f.cfg.ThreeScale.AdminURL + ": the APIManager is not created yet"
	if len(got) == 0 || got[len(got)-1] != wantLast {
		t.Errorf("dry run actions %q, want the last to be %q", got, wantLast)
	}
	if !slices.Contains(got, "create APIManager "+f.ns+"/apimanager") || !slices.Contains(got, "create Secret "+f.ns+"/maas-sso-client") {
		t.Errorf("dry run plan lacks creates: %q", got)
	}
	if n := f.kc.Writes(); n != 0 {
		t.Errorf("%d Keycloak writes", n)
	}
	if w := f.threescaleWrites(); len(w) != 0 {
		t.Errorf("3scale writes %v", w)
	}
	if diff := cmp.Diff(before, f.resourceVersions()); diff != "" {
		t.Errorf("dry run changed objects (-want +got):\n%s", diff)
	}
	for _, l := range strings.Split(strings.TrimSpace(f.out.String()), "\n") {
		if !strings.HasPrefix(l, "(dry run) ") {
			t.Errorf("output line without the dry-run prefix: %q", l)
		}
	}
}

func TestUserManagedOperatorObjectsAreLeftAlone(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	ctx := context.Background()
	am := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.APIManagerGVK.GroupVersion().String(), "kind": operator.APIManagerGVK.Kind,
		"metadata": map[string]any{"name": bootstrap.DefaultAPIManagerName, "namespace": f.ns},
		"spec":     map[string]any{"wildcardDomain": "user.example.com"},
	}}
	cpd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": operator.CustomPolicyDefinitionGVK.GroupVersion().String(), "kind": operator.CustomPolicyDefinitionGVK.Kind,
		"metadata": map[string]any{"name": "llm-metrics", "namespace": f.ns},
		"spec": map[string]any{"name": "llm-metrics", "version": "9.9", "schema": map[string]any{
			"$schema": "x", "name": "llm-metrics", "version": "9.9", "summary": "user's", "configuration": map[string]any{},
		}},
	}}
	for _, o := range []client.Object{am, cpd} {
		if err := f.c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.markAvailable(ctx); err != nil {
		t.Fatal(err)
	}
	before := f.resourceVersions()
	got := lines(f.mustRun(false))
	for _, want := range []string{
		"skip CustomPolicyDefinition " + f.ns + "/llm-metrics: " + kube.ReasonUserManaged,
		"skip APIManager " + f.ns + "/apimanager: " + kube.ReasonUserManaged,
		"create SSO integration keycloak",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("actions lack %q: %q", want, got)
		}
	}
	after := f.resourceVersions()
	for _, k := range []string{"*unstructured.UnstructuredList/apimanager", "*unstructured.UnstructuredList/llm-metrics"} {
		if before[k] == "" || before[k] != after[k] {
			t.Errorf("%s resourceVersion %q -> %q", k, before[k], after[k])
		}
	}
}

func TestAPIManagerWaitTimesOut(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	f.cfg.Operator.AvailableTimeout.Duration = 300 * time.Millisecond
	actions, err := f.run(false)
	if !errors.Is(err, operator.ErrNotAvailable) {
		t.Fatalf("Run error = %v, want %v", err, operator.ErrNotAvailable)
	}
	want := "APIManager " + f.ns + "/apimanager did not become Available within 300ms, last: no Available condition yet"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	if !strings.Contains(f.out.String(), "waiting for APIManager") {
		t.Errorf("no progress line:\n%s", f.out.String())
	}
	if got := lines(actions); !slices.Contains(got, "create APIManager "+f.ns+"/apimanager") {
		t.Errorf("actions %q", got)
	}
	if w := f.threescaleWrites(); len(w) != 0 {
		t.Errorf("3scale was configured before the APIManager was available: %v", w)
	}
}

func TestMissingSecretsAreNamed(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(f *fixture)
		want    string
	}{
		{
			name: "admin Secret absent",
			prepare: func(f *fixture) {
				f.cfg.Keycloak.AdminSecret.Name = "nope"
			},
			want: `read key "username" of Secret %s/nope: secret key unavailable: the Secret does not exist`,
		},
		{
			name: "identity provider key absent",
			prepare: func(f *fixture) {
				f.cfg.Keycloak.IdentityProvider.ClientSecret.Key = "other"
			},
			want: `read key "other" of Secret %s/github-idp: secret key unavailable: the Secret has no such key`,
		},
		{
			name: "access token key absent",
			prepare: func(f *fixture) {
				f.cfg.ThreeScale.AccessTokenSecret = &bootstrap.SecretKeyRef{Name: bootstrap.SystemSeedSecret, Key: "TOKEN"}
				f.markAvailableWhenCreated()
			},
			want: `read key "TOKEN" of Secret %s/system-seed: secret key unavailable: the Secret has no such key`,
		},
	}
	e := env(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, e)
			defer f.checkNoLeak()
			tc.prepare(f)
			_, err := f.run(false)
			if !errors.Is(err, kube.ErrSecretKey) {
				t.Fatalf("Run error = %v, want %v", err, kube.ErrSecretKey)
			}
			if want := fmt.Sprintf(tc.want, f.ns); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		})
	}
}

func TestDefaultAPIRemoval(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	f.cfg.ThreeScale.RemoveDefaultAPI = true
	f.markAvailableWhenCreated()
	got := lines(f.mustRun(false))
	if !slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "skip product api (id ") }) {
		t.Errorf("the only product was not kept: %q", got)
	}

	// With a second product the untouched default goes.
	ctx := context.Background()
	c, err := threescale.New(ctx, threescale.Options{AdminURL: f.cfg.ThreeScale.AdminURL, Token: tsToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateProduct(ctx, "Model", porta.Params{"system_name": "model"}); err != nil {
		t.Fatal(err)
	}
	got = lines(f.mustRun(false))
	if !slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "delete product api (id ") }) {
		t.Errorf("the default product was not deleted: %q", got)
	}
	if _, err := c.FindProduct(ctx, "api"); !errors.Is(err, threescale.ErrNotFound) {
		t.Errorf("FindProduct api: %v", err)
	}
}

func TestCertManagerAbsentIsSkipped(t *testing.T) {
	e := testenv.Start(t, []testenv.CRDSet{testenv.ThreeScaleOperator})
	f := newFixture(t, e)
	defer f.checkNoLeak()
	f.markAvailableWhenCreated()
	got := lines(f.mustRun(false))
	want := "skip Certificate " + f.ns + "/maas-webhook: cert-manager is not installed (its CRDs are not served)"
	if !slices.Contains(got, want) {
		t.Errorf("actions lack %q: %q", want, got)
	}
}

func TestCommand(t *testing.T) {
	e := env(t)
	f := newFixture(t, e)
	user, err := e.Environment.AddUser(envtest.User{Name: "bootstrap", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kcPath := filepath.Join(dir, "kubeconfig")
	cfgPath := filepath.Join(dir, "bootstrap.yaml")
	cfgYAML := fmt.Sprintf("namespace: %s\nkeycloak: {url: %q, adminSecret: {name: keycloak-admin}}\n"+
		"threescale: {adminURL: %q, portalHost: %s, accessTokenSecret: {name: system-seed, key: ADMIN_ACCESS_TOKEN}}\n",
		f.ns, f.cfg.Keycloak.URL, f.cfg.ThreeScale.AdminURL, portalHost)
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := app.NewRootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"bootstrap", "--kubeconfig", kcPath, "--config", cfgPath, "--dry-run"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("bootstrap --dry-run: %v", err)
	}
	if !strings.Contains(out.String(), "(dry run) create realm maas\n") || !strings.Contains(out.String(), "(dry run) create SSO integration keycloak\n") {
		t.Errorf("output:\n%s", out.String())
	}
	if n := f.kc.Writes(); n != 0 {
		t.Errorf("%d Keycloak writes", n)
	}
	var s corev1.Secret
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "maas-sso-client"}, &s); !apierrors.IsNotFound(err) {
		t.Errorf("dry run created the client Secret: %v", err)
	}
}
