package keycloak_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
	kcsim "github.com/maas-io/maas-webhook/test/keycloak"
)

const (
	adminUser     = "admin"
	adminPassword = "admin-pass-7f3a9c"
	saClientID    = "bootstrap-sa"
	saSecret      = "sa-secret-51be02"
	idpSecret     = "github-secret-c0ffee"
	portalHost    = "portal.apps.example.com"
)

var modes = []struct {
	mode keycloak.BasePathMode
	sim  kcsim.BasePath
}{
	{keycloak.BasePathKeycloak, kcsim.BasePathKeycloak},
	{keycloak.BasePathRHSSO, kcsim.BasePathRHSSO},
}

// env is a simulator and the options of a step pointed at it.
type env struct {
	sim  *kcsim.Server
	root string
	opts keycloak.Options
}

func newEnv(t *testing.T, mode keycloak.BasePathMode, simMode kcsim.BasePath, simOpts ...kcsim.Option) *env {
	t.Helper()
	simOpts = append([]kcsim.Option{
		kcsim.WithBasePath(simMode),
		kcsim.WithAdminUser(adminUser, adminPassword),
		kcsim.WithServiceAccount(saClientID, saSecret),
	}, simOpts...)
	sim, root := kcsim.NewTestServer(t, simOpts...)
	return &env{sim: sim, root: root, opts: keycloak.Options{
		BaseURL:    root,
		BasePath:   mode,
		Admin:      keycloak.AdminCredentials{Username: adminUser, Password: adminPassword},
		PortalHost: portalHost,
	}}
}

func githubIDP() *keycloak.IdentityProvider {
	return &keycloak.IdentityProvider{
		Alias:        "github",
		ProviderID:   "github",
		ClientID:     "gh-client",
		ClientSecret: idpSecret,
		Config:       map[string]string{"defaultScope": "user:email"},
	}
}

// run builds and runs a step with the env's options, changed by mutate.
func (e *env) run(ctx context.Context, t *testing.T, mutate ...func(*keycloak.Options)) (keycloak.Result, error) {
	t.Helper()
	opts := e.opts
	for _, m := range mutate {
		m(&opts)
	}
	step, err := keycloak.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return step.Run(ctx)
}

// mustRun runs the step and fails the test on error.
func (e *env) mustRun(t *testing.T, mutate ...func(*keycloak.Options)) keycloak.Result {
	t.Helper()
	res, err := e.run(context.Background(), t, mutate...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// admin returns a gocloak client logged in to the simulator, to drift its state as a
// human administrator would.
func (e *env) admin(t *testing.T) (*gocloak.GoCloak, string) {
	t.Helper()
	gc := gocloak.NewClient(e.root + string(e.sim.BasePath()))
	jwt, err := gc.LoginAdmin(context.Background(), adminUser, adminPassword, "master")
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	return gc, jwt.AccessToken
}

func (e *env) client(t *testing.T) kcsim.ClientState {
	t.Helper()
	rs, found := e.sim.Snapshot().Realm(keycloak.DefaultRealm)
	if !found {
		t.Fatalf("realm %q not found", keycloak.DefaultRealm)
	}
	c, found := rs.Client(keycloak.ClientID)
	if !found {
		t.Fatalf("client %q not found", keycloak.ClientID)
	}
	return c
}

func withIDP(o *keycloak.Options) { o.IdentityProvider = githubIDP() }

func withDryRun(o *keycloak.Options) { o.DryRun = true }

func act(verb keycloak.Verb, kind, name string, fields ...string) keycloak.Action {
	return keycloak.Action{Verb: verb, Kind: kind, Name: name, Fields: fields}
}

var cmpActions = cmp.Transformer("actions", func(a keycloak.Action) string { return a.String() })

func call(method, template string) kcsim.Call { return kcsim.Call{Method: method, Template: template} }

var (
	tokenCall     = call(http.MethodPost, kcsim.TokenTemplate)
	getRealm      = call(http.MethodGet, "/admin/realms/{realm}")
	createRealm   = call(http.MethodPost, "/admin/realms")
	listClients   = call(http.MethodGet, "/admin/realms/{realm}/clients")
	createClient  = call(http.MethodPost, "/admin/realms/{realm}/clients")
	updateClient  = call(http.MethodPut, "/admin/realms/{realm}/clients/{client-uuid}")
	getSecret     = call(http.MethodGet, "/admin/realms/{realm}/clients/{client-uuid}/client-secret")
	createMapper  = call(http.MethodPost, "/admin/realms/{realm}/clients/{client-uuid}/protocol-mappers/models")
	updateMapper  = call(http.MethodPut, "/admin/realms/{realm}/clients/{client-uuid}/protocol-mappers/models/{id}")
	getIDP        = call(http.MethodGet, "/admin/realms/{realm}/identity-provider/instances/{alias}")
	createIDP     = call(http.MethodPost, "/admin/realms/{realm}/identity-provider/instances")
	updateIDP     = call(http.MethodPut, "/admin/realms/{realm}/identity-provider/instances/{alias}")
	createActions = []keycloak.Action{
		act(keycloak.VerbCreate, keycloak.KindRealm, "maas"),
		act(keycloak.VerbCreate, keycloak.KindClient, "3scale"),
		act(keycloak.VerbCreate, keycloak.KindProtocolMapper, "email verified"),
		act(keycloak.VerbCreate, keycloak.KindProtocolMapper, "org_name"),
		act(keycloak.VerbCreate, keycloak.KindIdentityProvider, "github"),
	}
	unchangedActions = []keycloak.Action{
		act(keycloak.VerbUnchanged, keycloak.KindRealm, "maas"),
		act(keycloak.VerbUnchanged, keycloak.KindClient, "3scale"),
		act(keycloak.VerbUnchanged, keycloak.KindProtocolMapper, "email verified"),
		act(keycloak.VerbUnchanged, keycloak.KindProtocolMapper, "org_name"),
		act(keycloak.VerbUnchanged, keycloak.KindIdentityProvider, "github"),
	}
)

func TestRunCreatesThenConverges(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m.mode), func(t *testing.T) {
			e := newEnv(t, m.mode, m.sim)

			res := e.mustRun(t, withIDP)
			if diff := cmp.Diff(createActions, res.Actions, cmpActions); diff != "" {
				t.Errorf("first run actions (-want +got):\n%s", diff)
			}
			wantCalls := map[kcsim.Call]int{
				tokenCall: 1, getRealm: 1, createRealm: 1, listClients: 1, createClient: 1,
				getIDP: 1, createIDP: 1, getSecret: 1,
			}
			if diff := cmp.Diff(wantCalls, e.sim.Calls()); diff != "" {
				t.Errorf("first run calls (-want +got):\n%s", diff)
			}

			c := e.client(t)
			wantData := map[string]string{
				"CLIENT_ID":     "3scale",
				"CLIENT_SECRET": c.Secret,
				"REALM_URL":     e.root + string(m.sim) + "/realms/maas",
			}
			if diff := cmp.Diff(wantData, res.SecretData()); diff != "" {
				t.Errorf("secret data (-want +got):\n%s", diff)
			}
			checkConverged(t, e)

			e.sim.ResetCalls()
			res = e.mustRun(t, withIDP)
			if diff := cmp.Diff(unchangedActions, res.Actions, cmpActions); diff != "" {
				t.Errorf("second run actions (-want +got):\n%s", diff)
			}
			wantCalls = map[kcsim.Call]int{tokenCall: 1, getRealm: 1, listClients: 1, getIDP: 1, getSecret: 1}
			if diff := cmp.Diff(wantCalls, e.sim.Calls()); diff != "" {
				t.Errorf("second run calls: only reads (-want +got):\n%s", diff)
			}
			if got := e.sim.Writes(); got != 0 {
				t.Errorf("second run made %d writes, want 0", got)
			}
		})
	}
}

// checkConverged checks the simulator holds what the step owns.
func checkConverged(t *testing.T, e *env) {
	t.Helper()
	rs, _ := e.sim.Snapshot().Realm("maas")
	wantRealm := map[string]any{"realm": "maas", "enabled": true, "displayName": keycloak.DefaultRealmDisplayName}
	if diff := cmp.Diff(wantRealm, pick(rs.Representation, "realm", "enabled", "displayName")); diff != "" {
		t.Errorf("realm (-want +got):\n%s", diff)
	}

	c, _ := rs.Client("3scale")
	wantClient := map[string]any{
		"protocol": "openid-connect", "enabled": true, "publicClient": false, "bearerOnly": false,
		"clientAuthenticatorType": "client-secret", "standardFlowEnabled": true, "implicitFlowEnabled": false,
		"directAccessGrantsEnabled": false, "serviceAccountsEnabled": false,
		"redirectUris": []any{"https://" + portalHost + "/auth/keycloak/callback*"},
		"attributes":   map[string]any{"oauth2.device.authorization.grant.enabled": "false", "oidc.ciba.grant.enabled": "false"},
	}
	if diff := cmp.Diff(wantClient, pick(c.Representation, keysOf(wantClient)...)); diff != "" {
		t.Errorf("client (-want +got):\n%s", diff)
	}

	wantMappers := []kcsim.ProtocolMapper{
		{
			Name: "email verified", Protocol: "openid-connect", ProtocolMapper: "oidc-usermodel-property-mapper",
			Config: map[string]string{
				"user.attribute": "emailVerified", "claim.name": "email_verified", "jsonType.label": "boolean",
				"id.token.claim": "true", "access.token.claim": "true", "userinfo.token.claim": "true",
				"introspection.token.claim": "true",
			},
		},
		{
			Name: "org_name", Protocol: "openid-connect", ProtocolMapper: "oidc-usermodel-attribute-mapper",
			Config: map[string]string{
				"user.attribute": "email", "claim.name": "org_name", "jsonType.label": "String",
				"id.token.claim": "true", "access.token.claim": "true", "userinfo.token.claim": "true",
				"multivalued": "false", "aggregate.attrs": "false", "introspection.token.claim": "true",
			},
		},
	}
	ignoreID := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ID" }, cmp.Ignore())
	byName := cmpopts.SortSlices(func(a, b kcsim.ProtocolMapper) bool { return a.Name < b.Name })
	if diff := cmp.Diff(wantMappers, c.ProtocolMappers, ignoreID, byName); diff != "" {
		t.Errorf("protocol mappers (-want +got):\n%s", diff)
	}

	if idp, found := rs.IdentityProvider("github"); found {
		wantIDP := map[string]any{
			"providerId": "github", "enabled": true, "trustEmail": true,
			"config": map[string]any{"clientId": "gh-client", "clientSecret": idpSecret, "syncMode": "IMPORT", "defaultScope": "user:email"},
		}
		if diff := cmp.Diff(wantIDP, pick(idp, keysOf(wantIDP)...)); diff != "" {
			t.Errorf("identity provider (-want +got):\n%s", diff)
		}
	}
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, has := m[k]; has {
			out[k] = v
		}
	}
	return out
}

func keysOf(m map[string]any) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func replaceAction(actions []keycloak.Action, a keycloak.Action) []keycloak.Action {
	out := make([]keycloak.Action, len(actions))
	for i, old := range actions {
		out[i] = old
		if old.Kind == a.Kind && old.Name == a.Name {
			out[i] = a
		}
	}
	return out
}

func TestRunRepairsDrift(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		drift      func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState)
		wantAction keycloak.Action
		wantWrites map[kcsim.Call]int
	}{
		{
			name: "redirect URIs",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				update := gocloak.Client{ID: gocloak.StringP(c.Representation["id"].(string)), RedirectURIs: &[]string{"https://evil.example/*"}}
				if err := gc.UpdateClient(ctx, token, "maas", update); err != nil {
					t.Fatal(err)
				}
			},
			wantAction: act(keycloak.VerbUpdate, keycloak.KindClient, "3scale", "redirectUris"),
			wantWrites: map[kcsim.Call]int{updateClient: 1},
		},
		{
			name: "grants",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				update := gocloak.Client{
					ID:                        gocloak.StringP(c.Representation["id"].(string)),
					DirectAccessGrantsEnabled: gocloak.BoolP(true),
					Attributes:                &map[string]string{"oidc.ciba.grant.enabled": "true"},
				}
				if err := gc.UpdateClient(ctx, token, "maas", update); err != nil {
					t.Fatal(err)
				}
			},
			wantAction: act(keycloak.VerbUpdate, keycloak.KindClient, "3scale", "directAccessGrantsEnabled", "attributes.oidc.ciba.grant.enabled"),
			wantWrites: map[kcsim.Call]int{updateClient: 1},
		},
		{
			name: "mapper config",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				m, _ := c.Mapper("org_name")
				m.Config["claim.name"] = "organisation"
				delete(m.Config, "userinfo.token.claim")
				update := gocloak.ProtocolMapperRepresentation{ID: &m.ID, ProtocolMapper: &m.ProtocolMapper, Config: &m.Config}
				if err := gc.UpdateClientProtocolMapper(ctx, token, "maas", c.Representation["id"].(string), m.ID, update); err != nil {
					t.Fatal(err)
				}
			},
			wantAction: act(keycloak.VerbUpdate, keycloak.KindProtocolMapper, "org_name", "config.claim.name", "config.userinfo.token.claim"),
			wantWrites: map[kcsim.Call]int{updateMapper: 1},
		},
		{
			name: "mapper deleted",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				m, _ := c.Mapper("email verified")
				if err := gc.DeleteClientProtocolMapper(ctx, token, "maas", c.Representation["id"].(string), m.ID); err != nil {
					t.Fatal(err)
				}
			},
			wantAction: act(keycloak.VerbCreate, keycloak.KindProtocolMapper, "email verified"),
			wantWrites: map[kcsim.Call]int{createMapper: 1},
		},
		{
			name: "identity provider",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, _ kcsim.ClientState) {
				idp, err := gc.GetIdentityProvider(ctx, token, "maas", "github")
				if err != nil {
					t.Fatal(err)
				}
				idp.TrustEmail = gocloak.BoolP(false)
				(*idp.Config)["syncMode"] = "FORCE"
				if err := gc.UpdateIdentityProvider(ctx, token, "maas", "github", *idp); err != nil {
					t.Fatal(err)
				}
			},
			wantAction: act(keycloak.VerbUpdate, keycloak.KindIdentityProvider, "github", "trustEmail", "config.syncMode"),
			wantWrites: map[kcsim.Call]int{updateIDP: 1},
		},
	}
	for _, m := range modes {
		for _, tc := range tests {
			t.Run(string(m.mode)+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t, m.mode, m.sim)
				e.mustRun(t, withIDP)
				gc, token := e.admin(t)
				tc.drift(t, gc, token, e.client(t))
				e.sim.ResetCalls()

				res := e.mustRun(t, withIDP)
				if diff := cmp.Diff(replaceAction(unchangedActions, tc.wantAction), res.Actions, cmpActions); diff != "" {
					t.Errorf("repair actions (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantWrites, writes(e.sim.Calls())); diff != "" {
					t.Errorf("repair writes (-want +got):\n%s", diff)
				}
				checkConverged(t, e)

				e.sim.ResetCalls()
				res = e.mustRun(t, withIDP)
				if diff := cmp.Diff(unchangedActions, res.Actions, cmpActions); diff != "" {
					t.Errorf("run after repair (-want +got):\n%s", diff)
				}
				if got := e.sim.Writes(); got != 0 {
					t.Errorf("run after repair made %d writes, want 0", got)
				}
			})
		}
	}
}

// writes keeps the calls other than GET and token requests.
func writes(calls map[kcsim.Call]int) map[kcsim.Call]int {
	out := map[kcsim.Call]int{}
	for c, n := range calls {
		if c.Method != http.MethodGet && c != tokenCall {
			out[c] = n
		}
	}
	return out
}

func TestRunKeepsServerAddedMapperConfig(t *testing.T) {
	e := newEnv(t, keycloak.BasePathKeycloak, kcsim.BasePathKeycloak)
	e.mustRun(t)
	gc, token := e.admin(t)
	c := e.client(t)
	m, _ := c.Mapper("org_name")
	m.Config["claim.name"] = "drifted"
	update := gocloak.ProtocolMapperRepresentation{ID: &m.ID, ProtocolMapper: &m.ProtocolMapper, Config: &m.Config}
	if err := gc.UpdateClientProtocolMapper(context.Background(), token, "maas", c.Representation["id"].(string), m.ID, update); err != nil {
		t.Fatal(err)
	}
	e.mustRun(t)
	got, _ := e.client(t).Mapper("org_name")
	if diff := cmp.Diff("true", got.Config["introspection.token.claim"]); diff != "" {
		t.Errorf("a repaired mapper keeps the key Keycloak added (-want +got):\n%s", diff)
	}
}

func TestRunLogsInAgainWhenTheTokenExpires(t *testing.T) {
	for _, m := range modes {
		t.Run(string(m.mode), func(t *testing.T) {
			clk := testingclock.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var expired atomic.Bool
			// The token expires just before the first client lookup is checked.
			hook := func(c kcsim.Call) {
				if c == listClients && expired.CompareAndSwap(false, true) {
					clk.SetTime(clk.Now().Add(kcsim.DefaultTokenLifetime))
				}
			}
			e := newEnv(t, m.mode, m.sim, kcsim.WithClock(clk), kcsim.WithCallHook(hook))
			res := e.mustRun(t)
			if diff := cmp.Diff(createActions[:4], res.Actions, cmpActions); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			calls := e.sim.Calls()
			got := map[kcsim.Call]int{tokenCall: calls[tokenCall], listClients: calls[listClients]}
			want := map[kcsim.Call]int{tokenCall: 2, listClients: 2}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("one re-login and one retry (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunLoginErrors(t *testing.T) {
	tests := []struct {
		name    string
		admin   keycloak.AdminCredentials
		wantMsg string
		secret  string
	}{
		{
			name:    "wrong password",
			admin:   keycloak.AdminCredentials{Username: adminUser, Password: "wrong-pass-9d1e"},
			wantMsg: `log in to Keycloak realm master as user "admin": 401 Unauthorized: invalid_grant: Invalid user credentials`,
			secret:  "wrong-pass-9d1e",
		},
		{
			name:    "wrong client secret",
			admin:   keycloak.AdminCredentials{ClientID: saClientID, ClientSecret: "wrong-secret-44aa"},
			wantMsg: `log in to Keycloak realm master as client "bootstrap-sa": 401 Unauthorized: unauthorized_client: Invalid client or Invalid client credentials`,
			secret:  "wrong-secret-44aa",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, keycloak.BasePathKeycloak, kcsim.BasePathKeycloak)
			_, err := e.run(context.Background(), t, func(o *keycloak.Options) { o.Admin = tc.admin })
			if err == nil {
				t.Fatal("Run succeeded, want a login error")
			}
			if diff := cmp.Diff(tc.wantMsg, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q contains the secret", err)
			}
			var apiErr *gocloak.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != http.StatusUnauthorized {
				t.Errorf("error %v does not wrap a 401 APIError", err)
			}
			if got := e.sim.Writes(); got != 0 {
				t.Errorf("a failed login made %d writes", got)
			}
		})
	}
}

func TestRunWithClientCredentials(t *testing.T) {
	e := newEnv(t, keycloak.BasePathRHSSO, kcsim.BasePathRHSSO)
	res := e.mustRun(t, func(o *keycloak.Options) {
		o.Admin = keycloak.AdminCredentials{ClientID: saClientID, ClientSecret: saSecret}
	})
	if diff := cmp.Diff(createActions[:4], res.Actions, cmpActions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func TestRunNamesTheFailingOperation(t *testing.T) {
	tests := []struct {
		name    string
		fault   kcsim.Call
		status  int
		wantMsg string
	}{
		{name: "get realm", fault: getRealm, status: http.StatusInternalServerError, wantMsg: `get realm "maas": 500 Internal Server Error: unknown_error`},
		{name: "create realm", fault: createRealm, status: http.StatusServiceUnavailable, wantMsg: `create realm "maas": 503 Service Unavailable: unknown_error`},
		{name: "find client", fault: listClients, status: http.StatusBadGateway, wantMsg: `find client "3scale" in realm "maas": 502 Bad Gateway: unknown_error`},
		{name: "create client", fault: createClient, status: http.StatusServiceUnavailable, wantMsg: `create client "3scale" in realm "maas": 503 Service Unavailable: unknown_error`},
		{name: "get identity provider", fault: getIDP, status: http.StatusInternalServerError, wantMsg: `get identity provider "github" in realm "maas": 500 Internal Server Error: unknown_error`},
		{name: "create identity provider", fault: createIDP, status: http.StatusServiceUnavailable, wantMsg: `create identity provider "github" in realm "maas": 503 Service Unavailable: unknown_error`},
		{name: "get secret", fault: getSecret, status: http.StatusInternalServerError, wantMsg: `get secret of client "3scale" in realm "maas": 500 Internal Server Error: unknown_error`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, keycloak.BasePathKeycloak, kcsim.BasePathKeycloak)
			e.sim.FailNext(tc.fault, tc.status, 1)
			_, err := e.run(context.Background(), t, withIDP)
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			if diff := cmp.Diff(tc.wantMsg, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var apiErr *gocloak.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tc.status {
				t.Errorf("error %v does not wrap an APIError with status %d", err, tc.status)
			}
			// The fault was transient: the next run converges.
			e.mustRun(t, withIDP)
			checkConverged(t, e)
		})
	}
}

func TestRunUpdateFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		drift   func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState)
		fault   kcsim.Call
		wantMsg string
	}{
		{
			name: "update client",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				update := gocloak.Client{ID: gocloak.StringP(c.Representation["id"].(string)), ImplicitFlowEnabled: gocloak.BoolP(true)}
				if err := gc.UpdateClient(ctx, token, "maas", update); err != nil {
					t.Fatal(err)
				}
			},
			fault:   updateClient,
			wantMsg: `update client "3scale" in realm "maas": 503 Service Unavailable: unknown_error`,
		},
		{
			name: "update mapper",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				m, _ := c.Mapper("email verified")
				m.Config["claim.name"] = "x"
				update := gocloak.ProtocolMapperRepresentation{ID: &m.ID, ProtocolMapper: &m.ProtocolMapper, Config: &m.Config}
				if err := gc.UpdateClientProtocolMapper(ctx, token, "maas", c.Representation["id"].(string), m.ID, update); err != nil {
					t.Fatal(err)
				}
			},
			fault:   updateMapper,
			wantMsg: `update protocol mapper "email verified" of client "3scale" in realm "maas": 503 Service Unavailable: unknown_error`,
		},
		{
			name: "create mapper",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				m, _ := c.Mapper("org_name")
				if err := gc.DeleteClientProtocolMapper(ctx, token, "maas", c.Representation["id"].(string), m.ID); err != nil {
					t.Fatal(err)
				}
			},
			fault:   createMapper,
			wantMsg: `create protocol mapper "org_name" of client "3scale" in realm "maas": 503 Service Unavailable: unknown_error`,
		},
		{
			name: "update identity provider",
			drift: func(t *testing.T, gc *gocloak.GoCloak, token string, _ kcsim.ClientState) {
				idp, err := gc.GetIdentityProvider(ctx, token, "maas", "github")
				if err != nil {
					t.Fatal(err)
				}
				idp.Enabled = gocloak.BoolP(false)
				if err := gc.UpdateIdentityProvider(ctx, token, "maas", "github", *idp); err != nil {
					t.Fatal(err)
				}
			},
			fault:   updateIDP,
			wantMsg: `update identity provider "github" in realm "maas": 503 Service Unavailable: unknown_error`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, keycloak.BasePathKeycloak, kcsim.BasePathKeycloak)
			e.mustRun(t, withIDP)
			gc, token := e.admin(t)
			tc.drift(t, gc, token, e.client(t))
			e.sim.FailNext(tc.fault, http.StatusServiceUnavailable, 1)
			_, err := e.run(context.Background(), t, withIDP)
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			if diff := cmp.Diff(tc.wantMsg, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunRefusesForeignObjects(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState)
		wantMsg string
	}{
		{
			name: "identity provider of another type",
			setup: func(t *testing.T, gc *gocloak.GoCloak, token string, _ kcsim.ClientState) {
				rep := gocloak.IdentityProviderRepresentation{Alias: gocloak.StringP("github"), ProviderID: gocloak.StringP("oidc")}
				if _, err := gc.CreateIdentityProvider(ctx, token, "maas", rep); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: `identity provider "github" in realm "maas" has providerId "oidc", want "github": delete it to let the bootstrap recreate it`,
		},
		{
			name: "mapper of another protocol",
			setup: func(t *testing.T, gc *gocloak.GoCloak, token string, c kcsim.ClientState) {
				id := c.Representation["id"].(string)
				m, _ := c.Mapper("org_name")
				if err := gc.DeleteClientProtocolMapper(ctx, token, "maas", id, m.ID); err != nil {
					t.Fatal(err)
				}
				saml := gocloak.ProtocolMapperRepresentation{
					Name: gocloak.StringP("org_name"), Protocol: gocloak.StringP("saml"), ProtocolMapper: gocloak.StringP("saml-user-attribute-mapper"),
				}
				if _, err := gc.CreateClientProtocolMapper(ctx, token, "maas", id, saml); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: `protocol mapper "org_name" of client "3scale" in realm "maas" has protocol "saml", want "openid-connect": delete it to let the bootstrap recreate it`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, keycloak.BasePathKeycloak, kcsim.BasePathKeycloak)
			e.mustRun(t)
			gc, token := e.admin(t)
			tc.setup(t, gc, token, e.client(t))
			e.sim.ResetCalls()
			_, err := e.run(context.Background(), t, withIDP)
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			if diff := cmp.Diff(tc.wantMsg, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[kcsim.Call]int{}, writes(e.sim.Calls())); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, e *env)
		wantActions []keycloak.Action
	}{
		{
			name:        "nothing exists",
			setup:       func(*testing.T, *env) {},
			wantActions: createActions,
		},
		{
			name: "realm exists",
			setup: func(t *testing.T, e *env) {
				gc, token := e.admin(t)
				rep := gocloak.RealmRepresentation{Realm: gocloak.StringP("maas"), Enabled: gocloak.BoolP(true)}
				if _, err := gc.CreateRealm(context.Background(), token, rep); err != nil {
					t.Fatal(err)
				}
			},
			wantActions: replaceAction(createActions, act(keycloak.VerbUnchanged, keycloak.KindRealm, "maas")),
		},
		{
			name: "converged",
			setup: func(t *testing.T, e *env) {
				e.mustRun(t, withIDP)
			},
			wantActions: unchangedActions,
		},
		{
			name: "drifted",
			setup: func(t *testing.T, e *env) {
				e.mustRun(t, withIDP)
				gc, token := e.admin(t)
				c := e.client(t)
				update := gocloak.Client{ID: gocloak.StringP(c.Representation["id"].(string)), RedirectURIs: &[]string{}}
				if err := gc.UpdateClient(context.Background(), token, "maas", update); err != nil {
					t.Fatal(err)
				}
				m, _ := c.Mapper("org_name")
				if err := gc.DeleteClientProtocolMapper(context.Background(), token, "maas", c.Representation["id"].(string), m.ID); err != nil {
					t.Fatal(err)
				}
			},
			wantActions: replaceAction(replaceAction(unchangedActions,
				act(keycloak.VerbUpdate, keycloak.KindClient, "3scale", "redirectUris")),
				act(keycloak.VerbCreate, keycloak.KindProtocolMapper, "org_name")),
		},
	}
	for _, m := range modes {
		for _, tc := range tests {
			t.Run(string(m.mode)+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t, m.mode, m.sim)
				tc.setup(t, e)
				before := e.sim.Snapshot()
				e.sim.ResetCalls()

				res := e.mustRun(t, withIDP, withDryRun)
				if diff := cmp.Diff(tc.wantActions, res.Actions, cmpActions); diff != "" {
					t.Errorf("planned actions (-want +got):\n%s", diff)
				}
				if got := e.sim.Writes(); got != 0 {
					t.Errorf("dry run made %d writes, want 0", got)
				}
				if diff := cmp.Diff(before, e.sim.Snapshot()); diff != "" {
					t.Errorf("dry run changed the state (-before +after):\n%s", diff)
				}
				if !res.DryRun || res.ClientSecret != "" {
					t.Errorf("dry run result: DryRun=%v, secret set=%v; want true, false", res.DryRun, res.ClientSecret != "")
				}
			})
		}
	}
}

func TestNoSecretInLogsOrErrors(t *testing.T) {
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(&out, prefix, args)
	}, funcr.Options{Verbosity: 10})
	ctx := logr.NewContext(context.Background(), logger)

	clk := testingclock.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var expired atomic.Bool
	hook := func(c kcsim.Call) {
		if c == getSecret && expired.CompareAndSwap(false, true) {
			clk.SetTime(clk.Now().Add(kcsim.DefaultTokenLifetime))
		}
	}
	e := newEnv(t, keycloak.BasePathKeycloak, kcsim.BasePathKeycloak, kcsim.WithClock(clk), kcsim.WithCallHook(hook))
	var texts []string
	record := func(res keycloak.Result, err error) {
		texts = append(texts, res.String(), fmt.Sprintf("%v %+v %s", res, res, res))
		if err != nil {
			texts = append(texts, err.Error())
		}
	}

	record(e.run(ctx, t, withIDP)) // creates, with a re-login
	gc, token := e.admin(t)
	idp, err := gc.GetIdentityProvider(context.Background(), token, "maas", "github")
	if err != nil {
		t.Fatal(err)
	}
	idp.TrustEmail = gocloak.BoolP(false)
	if err := gc.UpdateIdentityProvider(context.Background(), token, "maas", "github", *idp); err != nil {
		t.Fatal(err)
	}
	record(e.run(ctx, t, withIDP)) // updates the identity provider with its secret
	e.sim.FailNext(getSecret, http.StatusInternalServerError, 1)
	record(e.run(ctx, t, withIDP)) // fails reading the secret
	record(e.run(ctx, t, withIDP, func(o *keycloak.Options) { o.Admin.Password = "wrong-" + adminPassword }))
	record(e.run(ctx, t, withIDP, func(o *keycloak.Options) {
		o.Admin = keycloak.AdminCredentials{ClientID: saClientID, ClientSecret: "wrong-" + saSecret}
	}))
	mu.Lock()
	texts = append(texts, out.String())
	mu.Unlock()

	if !strings.Contains(out.String(), "Keycloak bootstrap action") || !strings.Contains(out.String(), "logging in again") {
		t.Fatalf("the logs were not captured:\n%s", out.String())
	}
	clientSecret := e.client(t).Secret
	for _, text := range texts {
		for _, secret := range []string{adminPassword, saSecret, idpSecret, clientSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret leaked into:\n%s", text)
			}
		}
	}
}
