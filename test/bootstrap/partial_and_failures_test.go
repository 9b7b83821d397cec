package bootstrap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/Nerzal/gocloak/v13"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/maas-io/maas-webhook/cmd/webhook/app"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/operator"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
	"github.com/maas-io/maas-webhook/pkg/threescale"
	kcsim "github.com/maas-io/maas-webhook/test/keycloak"
	"github.com/maas-io/maas-webhook/test/testenv"
)

// More secret values the tests below plant; none may reach output, logs or errors.
const (
	wrongAdminPassword = "kc-wrong-pass-71c0de42"
	oldClientSecret    = "old-client-secret-4f9a02b6"
)

// commandTimeout bounds one run of the command in the failure tests. It is no
// assertion: a run that hangs fails with the deadline instead of blocking the
// package. It also caps the 3scale client's retries against an unreachable tenant,
// which stop before a backoff would outlast the deadline.
const commandTimeout = 5 * time.Second

// closedURL returns the http URL of a loopback port that nothing listens on any more.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// useRHSSO points the fixture at a fresh Keycloak simulator with the Red Hat SSO 7
// layout (API under /auth) and sets basePath rhsso in the configuration.
func (f *fixture) useRHSSO() {
	f.t.Helper()
	kc, kcURL := kcsim.NewTestServer(f.t, kcsim.WithAdminUser(adminUser, adminPassword), kcsim.WithBasePath(kcsim.BasePathRHSSO))
	f.kc = kc
	f.cfg.Keycloak.URL = kcURL
	f.cfg.Keycloak.BasePath = keycloak.BasePathRHSSO
	if err := f.cfg.Validate().ToAggregate(); err != nil {
		f.t.Fatal(err)
	}
}

// threescaleClient is a pkg/threescale client of the fixture's tenant.
func (f *fixture) threescaleClient(ctx context.Context) *threescale.Client {
	f.t.Helper()
	c, err := threescale.New(ctx, threescale.Options{AdminURL: f.cfg.ThreeScale.AdminURL, Token: tsToken})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// ssoIntegrations lists the tenant's SSO integrations through pkg/threescale.
func (f *fixture) ssoIntegrations() []threescale.AuthenticationProvider {
	f.t.Helper()
	ctx := context.Background()
	aps, err := f.threescaleClient(ctx).ListAuthenticationProviders(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return aps
}

// clientSecretData returns the data of the Secret the job stores the client's
// credentials in.
func (f *fixture) clientSecretData() map[string]string {
	f.t.Helper()
	var sec corev1.Secret
	if err := f.c.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: f.cfg.Keycloak.ClientSecretName}, &sec); err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range sec.Data {
		out[k] = string(v)
	}
	return out
}

// checkRunWritesNothing runs the job again and fails on any action but unchanged
// and on any write to Keycloak, 3scale or the Kubernetes objects the job manages.
func (f *fixture) checkRunWritesNothing() {
	f.t.Helper()
	before := f.resourceVersions()
	f.kc.ResetCalls()
	f.ts.ResetRequests()
	for _, a := range f.mustRun(false) {
		if a.Verb != report.VerbUnchanged {
			f.t.Errorf("second run: %s", a)
		}
	}
	if n := f.kc.Writes(); n != 0 {
		f.t.Errorf("second run: %d Keycloak writes: %v", n, f.kc.Calls())
	}
	if w := f.threescaleWrites(); len(w) != 0 {
		f.t.Errorf("second run: 3scale writes %v", w)
	}
	if diff := cmp.Diff(before, f.resourceVersions()); diff != "" {
		f.t.Errorf("second run changed resourceVersions (-want +got):\n%s", diff)
	}
}

// checkStored checks that the client Secret and the SSO integration carry the
// secret Keycloak generated for the client, and the realm URL.
func (f *fixture) checkStored(realmURL string) {
	f.t.Helper()
	kcClient, ok := f.keycloakClient()
	if !ok {
		f.t.Fatal("Keycloak client not created")
	}
	if kcClient.Secret == "" {
		f.t.Fatal("the Keycloak client has no secret")
	}
	want := map[string]string{"CLIENT_ID": keycloak.ClientID, "CLIENT_SECRET": kcClient.Secret, "REALM_URL": realmURL}
	if diff := cmp.Diff(want, f.clientSecretData()); diff != "" {
		f.t.Errorf("client Secret data (-want +got):\n%s", diff)
	}
	aps := f.ssoIntegrations()
	if len(aps) != 1 {
		f.t.Fatalf("SSO integrations = %d, want 1", len(aps))
	}
	ap := aps[0]
	got := []any{ap.Kind, ap.ClientID, ap.ClientSecret == kcClient.Secret, ap.Site, ap.Published, ap.AutomaticallyApproveAccounts}
	if diff := cmp.Diff([]any{"keycloak", keycloak.ClientID, true, realmURL, true, true}, got); diff != "" {
		f.t.Errorf("SSO integration (kind, client id, secret matches Keycloak's, site, published, auto-approve) (-want +got):\n%s", diff)
	}
}

// TestRealmWithoutClientIsCompleted starts from a realm that exists without the
// "3scale" client: the run leaves the realm alone and creates the client, its
// mappers, the client Secret and the SSO integration; a second run writes nothing.
func TestRealmWithoutClientIsCompleted(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	ns := f.ns
	ctx := context.Background()
	gc := gocloak.NewClient(f.cfg.Keycloak.URL)
	jwt, err := gc.LoginAdmin(ctx, adminUser, adminPassword, "master")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gc.CreateRealm(ctx, jwt.AccessToken, gocloak.RealmRepresentation{
		Realm: gocloak.StringP(keycloak.DefaultRealm), DisplayName: gocloak.StringP("Created by hand"), Enabled: gocloak.BoolP(true),
	}); err != nil {
		t.Fatal(err)
	}
	f.kc.ResetCalls()
	f.markAvailableWhenCreated()

	got := lines(f.mustRun(false))
	want := firstRunActions(ns, "unchanged")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	calls := f.kc.Calls()
	for _, c := range []kcsim.Call{{Method: http.MethodPost, Template: "/admin/realms"}, {Method: http.MethodPut, Template: "/admin/realms/{realm}"}} {
		if n := calls[c]; n != 0 {
			t.Errorf("%d requests %s: the existing realm was written", n, c)
		}
	}
	rs, ok := f.kc.Snapshot().Realm(keycloak.DefaultRealm)
	if !ok {
		t.Fatal("realm gone")
	}
	if dn := rs.Representation["displayName"]; dn != "Created by hand" {
		t.Errorf("realm displayName = %v, want it kept", dn)
	}
	kcClient, ok := rs.Client(keycloak.ClientID)
	if !ok {
		t.Fatal("Keycloak client not created")
	}
	for _, m := range []string{"email verified", "org_name"} {
		if _, ok := kcClient.Mapper(m); !ok {
			t.Errorf("protocol mapper %q not created", m)
		}
	}
	f.checkStored(f.cfg.Keycloak.URL + "/realms/maas")
	f.checkRunWritesNothing()
}

// TestSSOIntegrationWithOldSecretIsUpdated starts from a tenant whose keycloak SSO
// integration carries an old client secret: the run updates only its client_secret to
// the one Keycloak generated, and a second run writes nothing.
func TestSSOIntegrationWithOldSecretIsUpdated(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	ctx := context.Background()
	realmURL := f.cfg.Keycloak.URL + "/realms/maas"
	old, err := f.threescaleClient(ctx).CreateAuthenticationProvider(ctx, porta.Params{
		"kind": "keycloak", "name": "Keycloak", "client_id": keycloak.ClientID, "client_secret": oldClientSecret,
		"site": realmURL, "published": "true", "automatically_approve_accounts": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ts.ResetRequests()
	f.markAvailableWhenCreated()

	got := lines(f.mustRun(false))
	wantUpdate := fmt.Sprintf("update SSO integration keycloak (id %d) (client_secret)", old.ID)
	if !slices.Contains(got, wantUpdate) || slices.Contains(got, "create SSO integration keycloak") {
		t.Errorf("actions %q, want %q and no create", got, wantUpdate)
	}
	f.checkStored(realmURL)
	if aps := f.ssoIntegrations(); len(aps) != 1 || aps[0].ID != old.ID || aps[0].ClientSecret == oldClientSecret {
		t.Errorf("the SSO integration %d was not updated in place (%d integrations)", old.ID, len(aps))
	}
	f.checkRunWritesNothing()
	if all := f.out.String() + f.logs.String() + strings.Join(f.errors, "\n"); strings.Contains(all, oldClientSecret) {
		t.Errorf("the old client secret appears in the output, logs or errors:\n%s", all)
	}
}

// TestRHSSOLayoutFirstAndSecondRun runs the job against Red Hat SSO 7's layout (the
// API under /auth, basePath rhsso): the first run creates everything with realm URLs
// under /auth, using only routes of that layout, and the second run writes nothing.
func TestRHSSOLayoutFirstAndSecondRun(t *testing.T) {
	f := newFixture(t, env(t))
	defer f.checkNoLeak()
	f.useRHSSO()
	f.markAvailableWhenCreated()

	got := lines(f.mustRun(false))
	wantKeycloak := []string{
		"create realm maas",
		"create client 3scale",
		"create protocol mapper email verified",
		"create protocol mapper org_name",
		"create identity provider github",
		"create Secret " + f.ns + "/maas-sso-client",
	}
	if len(got) < len(wantKeycloak) {
		t.Fatalf("actions %q", got)
	}
	if diff := cmp.Diff(wantKeycloak, got[:len(wantKeycloak)]); diff != "" {
		t.Errorf("first run Keycloak actions (-want +got):\n%s", diff)
	}
	if !slices.Contains(got, "create SSO integration keycloak") {
		t.Errorf("actions lack the SSO integration: %q", got)
	}
	// A request outside /auth is answered 404 and recorded under its raw path, which
	// (for a path with parameters) is no route template.
	routes := kcsim.Routes()
	for c := range f.kc.Calls() {
		if !slices.Contains(routes, c) {
			t.Errorf("request %s is no route under %s", c, kcsim.BasePathRHSSO)
		}
	}
	f.checkStored(f.cfg.Keycloak.URL + "/auth/realms/maas")
	f.checkRunWritesNothing()
}

// kubeconfigFile writes a kubeconfig of a cluster admin of e for the command.
func kubeconfigFile(t *testing.T, e *testenv.Env, user string) string {
	t.Helper()
	u, err := e.Environment.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCommand runs `webhook bootstrap --config` with cfgYAML, at the highest log
// verbosity, within commandTimeout. Its standard output goes to the fixture's
// output, standard error to its logs and the error to its errors, for checkNoLeak.
func (f *fixture) runCommand(kubeconfig, cfgYAML string) error {
	f.t.Helper()
	cfgPath := filepath.Join(f.t.TempDir(), "bootstrap.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := app.NewRootCommand()
	cmd.SetOut(&f.out)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"bootstrap", "--kubeconfig", kubeconfig, "--config", cfgPath, "-v", "10"})
	err := cmd.ExecuteContext(ctx)
	f.logs.Write(stderr.Bytes())
	if err != nil {
		f.errors = append(f.errors, err.Error())
	}
	return err
}

// TestCommandFailuresNameStepAndSystem runs the real `webhook bootstrap` command
// into each failure: it must fail (a non-zero exit), within a deadline, with an error
// that names the step and the system and holds no secret value.
func TestCommandFailuresNameStepAndSystem(t *testing.T) {
	type endpoints struct{ keycloakURL, adminSecret, adminURL, operator string }
	tests := []struct {
		name string
		// prepare plants the failure in the fixture or the configuration's pieces.
		prepare func(f *fixture, ep *endpoints)
		// want are the substrings the error must hold.
		want   func(f *fixture, ep endpoints) []string
		wantIs error
	}{
		{
			name: "wrong Keycloak admin password",
			prepare: func(f *fixture, ep *endpoints) {
				f.secret("keycloak-admin-wrong", map[string]string{"username": adminUser, "password": wrongAdminPassword})
				ep.adminSecret = "keycloak-admin-wrong"
			},
			want: func(*fixture, endpoints) []string {
				return []string{`bootstrap: keycloak step: log in to Keycloak realm master as user "` + adminUser + `"`, "401 Unauthorized"}
			},
		},
		{
			name: "Keycloak unreachable",
			prepare: func(f *fixture, ep *endpoints) {
				ep.keycloakURL = closedURL(f.t)
			},
			want: func(_ *fixture, ep endpoints) []string {
				return []string{"bootstrap: keycloak step: log in to Keycloak realm master", strings.TrimPrefix(ep.keycloakURL, "http://")}
			},
		},
		{
			name: "3scale unreachable",
			prepare: func(f *fixture, ep *endpoints) {
				ep.adminURL = closedURL(f.t)
			},
			want: func(_ *fixture, ep endpoints) []string {
				return []string{"bootstrap: 3scale tenant step: list SSO integrations: 3scale ListAuthenticationProviders", strings.TrimPrefix(ep.adminURL, "http://")}
			},
			wantIs: threescale.ErrUnavailable,
		},
		{
			name: "APIManager never Available",
			prepare: func(f *fixture, ep *endpoints) {
				ep.operator = "operator: {apiManager: {wildcardDomain: apps.example.com}, policy: {secretName: llm-metrics-code}, availableTimeout: 300ms, pollInterval: 50ms}\n"
			},
			want: func(f *fixture, _ endpoints) []string {
				return []string{"bootstrap: 3scale operator step: APIManager " + f.ns + "/apimanager did not become Available within 300ms"}
			},
			wantIs: operator.ErrNotAvailable,
		},
	}
	e := env(t)
	kubeconfig := kubeconfigFile(t, e, "bootstrap-failures")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, e)
			defer f.checkNoLeak()
			ep := endpoints{keycloakURL: f.cfg.Keycloak.URL, adminSecret: "keycloak-admin", adminURL: f.cfg.ThreeScale.AdminURL}
			tc.prepare(f, &ep)
			cfgYAML := fmt.Sprintf("namespace: %s\nkeycloak: {url: %q, adminSecret: {name: %s}}\n"+
				"threescale: {adminURL: %q, portalHost: %s, accessTokenSecret: {name: system-seed, key: ADMIN_ACCESS_TOKEN}}\n%s",
				f.ns, ep.keycloakURL, ep.adminSecret, ep.adminURL, portalHost, ep.operator)

			err := f.runCommand(kubeconfig, cfgYAML)
			if err == nil {
				t.Fatalf("bootstrap succeeded, want an error\noutput:\n%s", f.out.String())
			}
			for _, w := range tc.want(f, ep) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v, want it to match %v", err, tc.wantIs)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the run hit the test's deadline instead of failing on its own: %v", err)
			}
			all := f.out.String() + f.logs.String() + err.Error()
			if strings.Contains(all, wrongAdminPassword) {
				t.Errorf("the wrong admin password appears in the output, logs or error:\n%s", all)
			}
		})
	}
}
