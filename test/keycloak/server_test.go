package keycloak

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	testingclock "k8s.io/utils/clock/testing"
)

const (
	adminUser     = "admin"
	adminPassword = "s3cret-pass"
	saID          = "bootstrap-sa"
	saSecret      = "sa-secret"
)

// harness talks raw HTTP to a simulator, so tests see the exact wire format.
type harness struct {
	t     *testing.T
	sim   *Server
	base  string
	token string
}

type reply struct {
	status   int
	location string
	body     any
}

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	opts = append([]Option{WithAdminUser(adminUser, adminPassword), WithServiceAccount(saID, saSecret)}, opts...)
	sim, root := NewTestServer(t, opts...)
	h := &harness{t: t, sim: sim, base: root + string(sim.BasePath())}
	r := h.form("/realms/master/protocol/openid-connect/token", url.Values{
		"grant_type": {"password"}, "client_id": {"admin-cli"}, "username": {adminUser}, "password": {adminPassword},
	}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("admin login: status %d, body %v", r.status, r.body)
	}
	h.token = r.body.(map[string]any)["access_token"].(string)
	return h
}

func (h *harness) send(req *http.Request) reply {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	r := reply{status: resp.StatusCode, location: resp.Header.Get("Location")}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r.body); err != nil {
			h.t.Fatalf("%s %s: body %q is not JSON: %v", req.Method, req.URL, data, err)
		}
	}
	return r
}

// do sends an admin request with the harness token; body is marshalled to JSON unless nil.
func (h *harness) do(method, p string, body any) reply {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.base+p, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	return h.send(req)
}

// form posts a token request; basic, when set, holds HTTP Basic client credentials.
func (h *harness) form(p string, values url.Values, basic []string) reply {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+p, strings.NewReader(values.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(basic[0], basic[1])
	}
	return h.send(req)
}

// step is one request of a scenario and what it must answer. A nil wantBody is not
// checked; wantLocation is matched against the Location header's path.
type step struct {
	name         string
	method, path string
	body         any
	wantStatus   int
	wantBody     any
	wantLocation string
}

func (h *harness) run(steps []step) {
	h.t.Helper()
	for _, st := range steps {
		got := h.do(st.method, st.path, st.body)
		if got.status != st.wantStatus {
			h.t.Errorf("%s: status = %d, want %d (body %v)", st.name, got.status, st.wantStatus, got.body)
		}
		if st.wantBody != nil {
			if diff := cmp.Diff(st.wantBody, got.body); diff != "" {
				h.t.Errorf("%s: body mismatch (-want +got):\n%s", st.name, diff)
			}
		}
		if st.wantLocation != "" {
			if diff := cmp.Diff(st.wantLocation, locationPath(h.t, got.location)); diff != "" {
				h.t.Errorf("%s: Location mismatch (-want +got):\n%s", st.name, diff)
			}
		}
	}
}

func locationPath(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatalf("Location %q: %v", location, err)
	}
	return u.Path
}

// jsonValue converts v into plain JSON values, the way reply bodies are decoded.
func jsonValue(v any) any {
	var out any
	roundTrip(v, &out)
	return out
}

func errMsg(msg string) any  { return map[string]any{"errorMessage": msg} }
func errBody(msg string) any { return map[string]any{"error": msg} }

func TestTokenEndpoint(t *testing.T) {
	const tokenPath = "/realms/master/protocol/openid-connect/token"
	tests := []struct {
		name       string
		path       string
		values     url.Values
		basic      []string
		wantStatus int
		wantBody   any // nil: a token response is expected
	}{
		{
			name:       "password grant",
			values:     url.Values{"grant_type": {"password"}, "client_id": {"admin-cli"}, "username": {adminUser}, "password": {adminPassword}},
			wantStatus: http.StatusOK,
		},
		{
			name:       "wrong password",
			values:     url.Values{"grant_type": {"password"}, "client_id": {"admin-cli"}, "username": {adminUser}, "password": {"nope"}},
			wantStatus: http.StatusUnauthorized,
			wantBody:   map[string]any{"error": "invalid_grant", "error_description": "Invalid user credentials"},
		},
		{
			name:       "unknown user",
			values:     url.Values{"grant_type": {"password"}, "client_id": {"admin-cli"}, "username": {"ghost"}, "password": {adminPassword}},
			wantStatus: http.StatusUnauthorized,
			wantBody:   map[string]any{"error": "invalid_grant", "error_description": "Invalid user credentials"},
		},
		{
			name:       "client credentials with basic auth",
			values:     url.Values{"grant_type": {"client_credentials"}, "client_id": {saID}},
			basic:      []string{saID, saSecret},
			wantStatus: http.StatusOK,
		},
		{
			name:       "client credentials in the form",
			values:     url.Values{"grant_type": {"client_credentials"}, "client_id": {saID}, "client_secret": {saSecret}},
			wantStatus: http.StatusOK,
		},
		{
			name:       "client credentials with a wrong secret",
			values:     url.Values{"grant_type": {"client_credentials"}, "client_id": {saID}},
			basic:      []string{saID, "wrong"},
			wantStatus: http.StatusUnauthorized,
			wantBody:   map[string]any{"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"},
		},
		{
			name:       "unknown client",
			values:     url.Values{"grant_type": {"client_credentials"}, "client_id": {"ghost"}, "client_secret": {"x"}},
			wantStatus: http.StatusUnauthorized,
			wantBody:   map[string]any{"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"},
		},
		{
			name:       "client credentials for a public client",
			values:     url.Values{"grant_type": {"client_credentials"}, "client_id": {"admin-cli"}},
			wantStatus: http.StatusUnauthorized,
			wantBody:   map[string]any{"error": "unauthorized_client", "error_description": "Public client not allowed to retrieve service account"},
		},
		{
			name:       "password grant on a client without direct access grants",
			values:     url.Values{"grant_type": {"password"}, "client_id": {saID}, "client_secret": {saSecret}, "username": {adminUser}, "password": {adminPassword}},
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "unauthorized_client", "error_description": "Client not allowed for direct access grants"},
		},
		{
			name:       "missing grant type",
			values:     url.Values{"client_id": {"admin-cli"}},
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "invalid_request", "error_description": "Missing form parameter: grant_type"},
		},
		{
			name:       "unsupported grant type",
			values:     url.Values{"grant_type": {"implicit"}, "client_id": {"admin-cli"}},
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"},
		},
		{
			name:       "refresh with an unknown token",
			values:     url.Values{"grant_type": {"refresh_token"}, "client_id": {"admin-cli"}, "refresh_token": {"x"}},
			wantStatus: http.StatusBadRequest,
			wantBody:   map[string]any{"error": "invalid_grant", "error_description": "Invalid refresh token"},
		},
		{
			name:       "unknown realm",
			path:       "/realms/nowhere/protocol/openid-connect/token",
			values:     url.Values{"grant_type": {"password"}, "client_id": {"admin-cli"}},
			wantStatus: http.StatusNotFound,
			wantBody:   errBody("Realm does not exist"),
		},
	}
	h := newHarness(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			if p == "" {
				p = tokenPath
			}
			got := h.form(p, tc.values, tc.basic)
			if got.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %v)", got.status, tc.wantStatus, got.body)
			}
			if tc.wantBody != nil {
				if diff := cmp.Diff(tc.wantBody, got.body); diff != "" {
					t.Errorf("body mismatch (-want +got):\n%s", diff)
				}
				return
			}
			body := got.body.(map[string]any)
			if body["access_token"] == "" || body["token_type"] != "Bearer" || body["expires_in"] != float64(60) {
				t.Errorf("token response = %v, want a Bearer token valid for 60s", body)
			}
		})
	}
}

func TestTokenExpiryAndRefresh(t *testing.T) {
	clk := testingclock.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, WithClock(clk), WithTokenLifetime(10*time.Second))
	login := h.form("/realms/master/protocol/openid-connect/token", url.Values{
		"grant_type": {"password"}, "client_id": {"admin-cli"}, "username": {adminUser}, "password": {adminPassword},
	}, nil)
	refresh := login.body.(map[string]any)["refresh_token"].(string)

	h.run([]step{{name: "live token", method: http.MethodGet, path: "/admin/realms/master", wantStatus: http.StatusOK}})
	clk.SetTime(clk.Now().Add(10 * time.Second))
	h.run([]step{{
		name: "expired token", method: http.MethodGet, path: "/admin/realms/master",
		wantStatus: http.StatusUnauthorized, wantBody: errBody("HTTP 401 Unauthorized"),
	}})

	got := h.form("/realms/master/protocol/openid-connect/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"admin-cli"}, "refresh_token": {refresh},
	}, nil)
	if got.status != http.StatusOK {
		t.Fatalf("refresh: status %d, body %v", got.status, got.body)
	}
	h.token = got.body.(map[string]any)["access_token"].(string)
	h.run([]step{{name: "refreshed token", method: http.MethodGet, path: "/admin/realms/master", wantStatus: http.StatusOK}})

	clk.SetTime(clk.Now().Add(refreshLifetime))
	got = h.form("/realms/master/protocol/openid-connect/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"admin-cli"}, "refresh_token": {refresh},
	}, nil)
	if diff := cmp.Diff(map[string]any{"error": "invalid_grant", "error_description": "Token is not active"}, got.body); diff != "" {
		t.Errorf("expired refresh (-want +got):\n%s", diff)
	}
}

func TestAdminAuthorization(t *testing.T) {
	h := newHarness(t)
	h.run([]step{{
		name: "create a realm with a service account", method: http.MethodPost, path: "/admin/realms",
		body: map[string]any{"realm": "other", "enabled": true}, wantStatus: http.StatusCreated,
	}, {
		name: "create a service account in it", method: http.MethodPost, path: "/admin/realms/other/clients",
		body: map[string]any{"clientId": "svc", "secret": "svc-secret", "serviceAccountsEnabled": true}, wantStatus: http.StatusCreated,
	}})
	other := h.form("/realms/other/protocol/openid-connect/token", url.Values{"grant_type": {"client_credentials"}}, []string{"svc", "svc-secret"})
	if other.status != http.StatusOK {
		t.Fatalf("login to realm other: status %d, body %v", other.status, other.body)
	}

	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantBody   any
	}{
		{name: "no token", wantStatus: http.StatusUnauthorized, wantBody: errBody("HTTP 401 Unauthorized")},
		{name: "unknown token", token: "garbage", wantStatus: http.StatusUnauthorized, wantBody: errBody("HTTP 401 Unauthorized")},
		{name: "token of another realm", token: other.body.(map[string]any)["access_token"].(string), wantStatus: http.StatusForbidden, wantBody: errBody("HTTP 403 Forbidden")},
		{name: "master admin token", token: h.token, wantStatus: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hh := *h
			hh.t, hh.token = t, tc.token
			hh.run([]step{{name: tc.name, method: http.MethodGet, path: "/admin/realms/other", wantStatus: tc.wantStatus, wantBody: tc.wantBody}})
		})
	}
}

func TestRealms(t *testing.T) {
	h := newHarness(t)
	h.run([]step{
		{name: "missing realm", method: http.MethodGet, path: "/admin/realms/maas", wantStatus: http.StatusNotFound, wantBody: errBody("Realm not found.")},
		{
			name: "create with trailing slash", method: http.MethodPost, path: "/admin/realms/",
			body: map[string]any{"realm": "maas", "displayName": "MaaS"}, wantStatus: http.StatusCreated, wantLocation: "/admin/realms/maas",
		},
		{
			name: "duplicate", method: http.MethodPost, path: "/admin/realms",
			body: map[string]any{"realm": "maas"}, wantStatus: http.StatusConflict, wantBody: errMsg("Conflict detected. See logs for details"),
		},
		{
			name: "empty name", method: http.MethodPost, path: "/admin/realms",
			body: map[string]any{"enabled": true}, wantStatus: http.StatusBadRequest, wantBody: errMsg("Realm name cannot be empty"),
		},
		{name: "not JSON", method: http.MethodPost, path: "/admin/realms", body: "x", wantStatus: http.StatusBadRequest, wantBody: errBody("unknown_error")},
		{name: "unknown route", method: http.MethodGet, path: "/admin/nothing", wantStatus: http.StatusNotFound, wantBody: errBody("HTTP 404 Not Found")},
		{name: "unserved method", method: http.MethodPatch, path: "/admin/realms/maas", wantStatus: http.StatusMethodNotAllowed},
	})

	got := h.do(http.MethodGet, "/admin/realms/maas", nil).body.(map[string]any)
	want := map[string]any{"realm": "maas", "displayName": "MaaS", "enabled": false}
	if diff := cmp.Diff(want, pick(got, "realm", "displayName", "enabled")); diff != "" {
		t.Errorf("realm created without enabled (-want +got):\n%s", diff)
	}
	var names []string
	for _, r := range h.do(http.MethodGet, "/admin/realms/", nil).body.([]any) {
		names = append(names, r.(map[string]any)["realm"].(string))
	}
	if diff := cmp.Diff([]string{"master", "maas"}, names); diff != "" {
		t.Errorf("realm list (-want +got):\n%s", diff)
	}
	rs, _ := h.sim.Snapshot().Realm("maas")
	var clientIDs []string
	for _, c := range rs.Clients {
		clientIDs = append(clientIDs, c.Representation["clientId"].(string))
	}
	wantClients := []string{"account", "account-console", "admin-cli", "broker", "realm-management", "security-admin-console"}
	if diff := cmp.Diff(wantClients, clientIDs); diff != "" {
		t.Errorf("default clients of a new realm (-want +got):\n%s", diff)
	}
}

// pick returns the given keys of m.
func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, has := m[k]; has {
			out[k] = v
		}
	}
	return out
}

// newClient creates a realm "maas" and a client in it and returns the client's uuid.
func (h *harness) newClient(rep map[string]any) string {
	h.t.Helper()
	if h.do(http.MethodGet, "/admin/realms/maas", nil).status == http.StatusNotFound {
		h.run([]step{{name: "create realm", method: http.MethodPost, path: "/admin/realms", body: map[string]any{"realm": "maas", "enabled": true}, wantStatus: http.StatusCreated}})
	}
	r := h.do(http.MethodPost, "/admin/realms/maas/clients", rep)
	if r.status != http.StatusCreated {
		h.t.Fatalf("create client: status %d, body %v", r.status, r.body)
	}
	return path.Base(r.location)
}

func TestClients(t *testing.T) {
	h := newHarness(t)
	id := h.newClient(map[string]any{
		"clientId":     "3scale",
		"redirectUris": []string{"https://b.example/*", "https://a.example/*", "https://a.example/*"},
		"attributes":   map[string]string{"oidc.ciba.grant.enabled": "false"},
	})
	clientPath := "/admin/realms/maas/clients/" + id

	h.run([]step{
		{name: "duplicate", method: http.MethodPost, path: "/admin/realms/maas/clients", body: map[string]any{"clientId": "3scale"}, wantStatus: http.StatusConflict, wantBody: errMsg("Client 3scale already exists")},
		{name: "missing clientId", method: http.MethodPost, path: "/admin/realms/maas/clients", body: map[string]any{"name": "x"}, wantStatus: http.StatusBadRequest, wantBody: errMsg("Client ID is missing")},
		{name: "in a missing realm", method: http.MethodPost, path: "/admin/realms/none/clients", body: map[string]any{"clientId": "x"}, wantStatus: http.StatusNotFound, wantBody: errBody("Realm not found.")},
		{name: "missing client", method: http.MethodGet, path: "/admin/realms/maas/clients/nope", wantStatus: http.StatusNotFound, wantBody: errBody("Could not find client")},
		{name: "update missing client", method: http.MethodPut, path: "/admin/realms/maas/clients/nope", body: map[string]any{}, wantStatus: http.StatusNotFound, wantBody: errBody("Could not find client")},
		{name: "rename onto another client", method: http.MethodPut, path: clientPath, body: map[string]any{"clientId": "admin-cli"}, wantStatus: http.StatusConflict, wantBody: errMsg("Client admin-cli already exists")},
	})

	got := h.do(http.MethodGet, clientPath, nil).body.(map[string]any)
	secret, _ := got["secret"].(string)
	if secret == "" {
		t.Fatalf("confidential client has no generated secret: %v", got)
	}
	want := map[string]any{
		"id": id, "clientId": "3scale", "enabled": true, "protocol": "openid-connect", "publicClient": false,
		"standardFlowEnabled": true, "implicitFlowEnabled": false, "directAccessGrantsEnabled": false,
		"serviceAccountsEnabled": false, "clientAuthenticatorType": "client-secret", "secret": secret,
		"redirectUris": []any{"https://a.example/*", "https://b.example/*"},
		"attributes":   map[string]any{"oidc.ciba.grant.enabled": "false"},
	}
	keys := []string{"id", "clientId", "enabled", "protocol", "publicClient", "standardFlowEnabled", "implicitFlowEnabled",
		"directAccessGrantsEnabled", "serviceAccountsEnabled", "clientAuthenticatorType", "secret", "redirectUris", "attributes", "protocolMappers"}
	if diff := cmp.Diff(want, pick(got, keys...)); diff != "" {
		t.Errorf("created client (-want +got):\n%s", diff)
	}

	h.run([]step{{
		name: "merge update", method: http.MethodPut, path: clientPath, wantStatus: http.StatusNoContent,
		body: map[string]any{"redirectUris": []string{"https://c.example/*"}, "attributes": map[string]string{"x": "1"}, "enabled": nil},
	}})
	got = h.do(http.MethodGet, clientPath, nil).body.(map[string]any)
	want["redirectUris"] = []any{"https://c.example/*"}
	want["attributes"] = map[string]any{"oidc.ciba.grant.enabled": "false", "x": "1"}
	if diff := cmp.Diff(want, pick(got, keys...)); diff != "" {
		t.Errorf("client after a merge update (-want +got):\n%s", diff)
	}

	h.run([]step{
		{name: "read secret", method: http.MethodGet, path: clientPath + "/client-secret", wantStatus: http.StatusOK, wantBody: map[string]any{"type": "secret", "value": secret}},
		{name: "read secret of missing client", method: http.MethodGet, path: "/admin/realms/maas/clients/nope/client-secret", wantStatus: http.StatusNotFound, wantBody: errBody("Could not find client")},
	})
	regenerated := h.do(http.MethodPost, clientPath+"/client-secret", nil).body.(map[string]any)
	if regenerated["value"] == secret || regenerated["type"] != "secret" {
		t.Errorf("regenerated secret = %v, want a new secret", regenerated)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{query: "?clientId=3scale", want: []string{"3scale"}},
		{query: "?clientId=3SCALE", want: nil},
		{query: "?clientId=3sc", want: nil},
		{query: "?clientId=ACCOUNT&search=true", want: []string{"account", "account-console"}},
		{query: "?first=1&max=2", want: []string{"account-console", "admin-cli"}},
	}
	for _, tc := range tests {
		t.Run("list"+tc.query, func(t *testing.T) {
			var got []string
			for _, c := range h.do(http.MethodGet, "/admin/realms/maas/clients"+tc.query, nil).body.([]any) {
				got = append(got, c.(map[string]any)["clientId"].(string))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("clients (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProtocolMappers(t *testing.T) {
	h := newHarness(t)
	id := h.newClient(map[string]any{
		"clientId": "with-mappers",
		"protocolMappers": []map[string]any{{
			"name": "email verified", "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-property-mapper",
			"config": map[string]string{"user.attribute": "emailVerified", "access.token.claim": "true"},
		}},
	})
	models := "/admin/realms/maas/clients/" + id + "/protocol-mappers/models"
	orgName := map[string]any{
		"name": "org_name", "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-attribute-mapper",
		"config": map[string]string{"user.attribute": "email", "claim.name": "org_name", "access.token.claim": "true", "empty": ""},
	}
	h.run([]step{
		{name: "create", method: http.MethodPost, path: models, body: orgName, wantStatus: http.StatusCreated},
		{name: "duplicate name", method: http.MethodPost, path: models, body: orgName, wantStatus: http.StatusConflict, wantBody: errMsg("Protocol mapper exists with same name")},
		{
			name: "unknown provider", method: http.MethodPost, path: models, wantStatus: http.StatusNotFound, wantBody: errBody("ProtocolMapper provider not found"),
			body: map[string]any{"name": "x", "protocol": "openid-connect", "protocolMapper": "no-such-mapper"},
		},
		{name: "get missing", method: http.MethodGet, path: models + "/nope", wantStatus: http.StatusNotFound, wantBody: errBody("Model not found")},
		{name: "update missing", method: http.MethodPut, path: models + "/nope", body: orgName, wantStatus: http.StatusNotFound, wantBody: errBody("Model not found")},
		{name: "delete missing", method: http.MethodDelete, path: models + "/nope", wantStatus: http.StatusNotFound, wantBody: errBody("Model not found")},
	})

	list := h.do(http.MethodGet, models, nil).body.([]any)
	if len(list) != 2 {
		t.Fatalf("mappers = %v, want 2", list)
	}
	created := list[1].(map[string]any)
	mapperID := created["id"].(string)
	want := jsonValue(ProtocolMapper{
		ID: mapperID, Name: "org_name", Protocol: "openid-connect", ProtocolMapper: "oidc-usermodel-attribute-mapper",
		Config: map[string]string{"user.attribute": "email", "claim.name": "org_name", "access.token.claim": "true", "introspection.token.claim": "true"},
	})
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created mapper: empty values dropped, introspection claim added (-want +got):\n%s", diff)
	}
	h.run([]step{{name: "get", method: http.MethodGet, path: models + "/" + mapperID, wantStatus: http.StatusOK, wantBody: want}})

	h.run([]step{{
		name: "update ignores name and protocol", method: http.MethodPut, path: models + "/" + mapperID, wantStatus: http.StatusNoContent,
		body: map[string]any{"id": mapperID, "name": "renamed", "protocol": "saml", "protocolMapper": "oidc-hardcoded-claim-mapper",
			"config": map[string]string{"claim.name": "org_name", "claim.value": "acme", "drop": ""}},
	}})
	want = jsonValue(ProtocolMapper{
		ID: mapperID, Name: "org_name", Protocol: "openid-connect", ProtocolMapper: "oidc-hardcoded-claim-mapper",
		Config: map[string]string{"claim.name": "org_name", "claim.value": "acme"},
	})
	h.run([]step{{name: "get after update", method: http.MethodGet, path: models + "/" + mapperID, wantStatus: http.StatusOK, wantBody: want}})

	client := h.do(http.MethodGet, "/admin/realms/maas/clients/"+id, nil).body.(map[string]any)
	if n := len(client["protocolMappers"].([]any)); n != 2 {
		t.Errorf("GET client lists %d protocol mappers, want 2", n)
	}

	h.run([]step{
		{name: "delete", method: http.MethodDelete, path: models + "/" + mapperID, wantStatus: http.StatusNoContent},
		{name: "gone", method: http.MethodGet, path: models + "/" + mapperID, wantStatus: http.StatusNotFound},
	})
	bare := h.newClient(map[string]any{"clientId": "bare"})
	h.run([]step{{name: "a new client has no client-level mappers", method: http.MethodGet, path: "/admin/realms/maas/clients/" + bare + "/protocol-mappers/models", wantStatus: http.StatusOK, wantBody: []any{}}})
	if _, has := h.do(http.MethodGet, "/admin/realms/maas/clients/"+bare, nil).body.(map[string]any)["protocolMappers"]; has {
		t.Errorf("GET of a client without mappers carries protocolMappers")
	}
}

func TestIdentityProviders(t *testing.T) {
	h := newHarness(t)
	h.newClient(map[string]any{"clientId": "unused"})
	instances := "/admin/realms/maas/identity-provider/instances"
	github := map[string]any{
		"alias": "github", "providerId": "github", "trustEmail": true,
		"config": map[string]string{"clientId": "gh-id", "clientSecret": "gh-secret", "syncMode": "IMPORT"},
	}
	h.run([]step{
		{name: "missing", method: http.MethodGet, path: instances + "/github", wantStatus: http.StatusNotFound, wantBody: errBody("HTTP 404 Not Found")},
		{name: "create", method: http.MethodPost, path: instances, body: github, wantStatus: http.StatusCreated, wantLocation: instances + "/github"},
		{name: "duplicate", method: http.MethodPost, path: instances, body: github, wantStatus: http.StatusConflict, wantBody: errMsg("Identity Provider github already exists")},
		{
			name: "invalid provider", method: http.MethodPost, path: instances, wantStatus: http.StatusBadRequest, wantBody: errMsg("Invalid identity provider id [nope]"),
			body: map[string]any{"alias": "x", "providerId": "nope"},
		},
		{name: "missing alias", method: http.MethodPost, path: instances, body: map[string]any{"providerId": "oidc"}, wantStatus: http.StatusBadRequest},
		{
			name: "create without sync mode", method: http.MethodPost, path: instances, wantStatus: http.StatusCreated,
			body: map[string]any{"alias": "corp", "providerId": "oidc", "config": map[string]string{"clientId": "c"}},
		},
	})

	got := h.do(http.MethodGet, instances+"/github", nil).body.(map[string]any)
	keys := []string{"alias", "providerId", "enabled", "trustEmail", "storeToken", "firstBrokerLoginFlowAlias", "config"}
	want := map[string]any{
		"alias": "github", "providerId": "github", "enabled": true, "trustEmail": true, "storeToken": false,
		"firstBrokerLoginFlowAlias": "first broker login",
		"config":                    map[string]any{"clientId": "gh-id", "clientSecret": "**********", "syncMode": "IMPORT"},
	}
	if diff := cmp.Diff(want, pick(got, keys...)); diff != "" {
		t.Errorf("created identity provider, secret masked (-want +got):\n%s", diff)
	}
	corp := h.do(http.MethodGet, instances+"/corp", nil).body.(map[string]any)
	if diff := cmp.Diff(map[string]any{"clientId": "c", "syncMode": "LEGACY"}, corp["config"]); diff != "" {
		t.Errorf("effective sync mode (-want +got):\n%s", diff)
	}

	// An update replaces the representation: trustEmail falls back to its default, and
	// the masked secret sent back keeps the stored one.
	got["trustEmail"] = nil
	got["config"] = map[string]any{"clientId": "gh-id-2", "clientSecret": "**********"}
	h.run([]step{
		{name: "update", method: http.MethodPut, path: instances + "/github", body: got, wantStatus: http.StatusNoContent},
		{name: "update missing", method: http.MethodPut, path: instances + "/nope", body: github, wantStatus: http.StatusNotFound, wantBody: errBody("HTTP 404 Not Found")},
		{name: "alias change", method: http.MethodPut, path: instances + "/github", body: map[string]any{"alias": "gh", "providerId": "github"}, wantStatus: http.StatusBadRequest},
	})
	rs, _ := h.sim.Snapshot().Realm("maas")
	stored, _ := rs.IdentityProvider("github")
	want["trustEmail"] = false
	want["config"] = map[string]any{"clientId": "gh-id-2", "clientSecret": "gh-secret", "syncMode": "LEGACY"}
	if diff := cmp.Diff(want, pick(stored, keys...)); diff != "" {
		t.Errorf("stored identity provider after update (-want +got):\n%s", diff)
	}

	var aliases []string
	for _, idp := range h.do(http.MethodGet, instances, nil).body.([]any) {
		aliases = append(aliases, idp.(map[string]any)["alias"].(string))
	}
	if diff := cmp.Diff([]string{"corp", "github"}, aliases); diff != "" {
		t.Errorf("identity providers sorted by alias (-want +got):\n%s", diff)
	}
}

func TestBasePath(t *testing.T) {
	tests := []struct {
		name      string
		basePath  BasePath
		served    string
		notServed string
	}{
		{name: "keycloak", basePath: BasePathKeycloak, served: "/admin/realms/master", notServed: "/auth/admin/realms/master"},
		{name: "rhsso", basePath: BasePathRHSSO, served: "/auth/admin/realms/master", notServed: "/admin/realms/master"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, WithBasePath(tc.basePath))
			h.base = strings.TrimSuffix(h.base, string(tc.basePath))
			h.run([]step{
				{name: "served", method: http.MethodGet, path: tc.served, wantStatus: http.StatusOK},
				{name: "not served", method: http.MethodGet, path: tc.notServed, wantStatus: http.StatusNotFound},
			})
			h.base += string(tc.basePath)
			r := h.do(http.MethodPost, "/admin/realms", map[string]any{"realm": "maas"})
			if diff := cmp.Diff(string(tc.basePath)+"/admin/realms/maas", locationPath(t, r.location)); diff != "" {
				t.Errorf("Location includes the base path (-want +got):\n%s", diff)
			}
			calls := h.sim.Calls()
			if got := calls[Call{Method: http.MethodGet, Template: "/admin/realms/{realm}"}]; got != 1 {
				t.Errorf("calls are counted without the base path: got %d, want 1", got)
			}
			if got := calls[Call{Method: http.MethodGet, Template: tc.notServed}]; got != 1 {
				t.Errorf("a call outside the routes is counted under its path: got %d, want 1", got)
			}
		})
	}
}

func TestFaultsAndCalls(t *testing.T) {
	var (
		mu     sync.Mutex
		hooked []Call
	)
	h := newHarness(t, WithCallHook(func(c Call) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, c)
	}))
	h.sim.ResetCalls()
	mu.Lock()
	hooked = nil
	mu.Unlock()
	getRealm := Call{Method: http.MethodGet, Template: "/admin/realms/{realm}"}
	h.sim.FailNext(getRealm, http.StatusServiceUnavailable, 2)
	h.run([]step{
		{name: "fault 1", method: http.MethodGet, path: "/admin/realms/master", wantStatus: http.StatusServiceUnavailable, wantBody: errBody("unknown_error")},
		{name: "fault 2", method: http.MethodGet, path: "/admin/realms/master", wantStatus: http.StatusServiceUnavailable},
		{name: "served again", method: http.MethodGet, path: "/admin/realms/master", wantStatus: http.StatusOK},
		{name: "other call unaffected", method: http.MethodPost, path: "/admin/realms", body: map[string]any{"realm": "maas"}, wantStatus: http.StatusCreated},
	})
	h.sim.FailNext(getRealm, http.StatusTooManyRequests, 1)
	h.run([]step{{name: "client error fault", method: http.MethodGet, path: "/admin/realms/master", wantStatus: http.StatusTooManyRequests, wantBody: errBody("HTTP 429 Too Many Requests")}})

	createRealm := Call{Method: http.MethodPost, Template: "/admin/realms"}
	wantCalls := map[Call]int{getRealm: 4, createRealm: 1}
	if diff := cmp.Diff(wantCalls, h.sim.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]Call{getRealm, getRealm, getRealm, createRealm, getRealm}, hooked); diff != "" {
		t.Errorf("hooked calls (-want +got):\n%s", diff)
	}
	if got := h.sim.Writes(); got != 1 {
		t.Errorf("Writes() = %d, want 1", got)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	sim := New(WithAdminUser(adminUser, adminPassword))
	// A delay far longer than any test run: the handler must return because the request's
	// context ends, not because the delay elapses.
	sim.SetLatency(24 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/admin/realms/master", nil)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if got := sim.Calls()[Call{Method: http.MethodGet, Template: "/admin/realms/{realm}"}]; got != 1 {
		t.Errorf("a dropped request is still counted: got %d, want 1", got)
	}
	sim.SetLatency(time.Millisecond)
	rec = httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/realms/master", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("delayed request: status %d, want 401", rec.Code)
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	h := newHarness(t)
	h.newClient(map[string]any{"clientId": "3scale", "redirectUris": []string{"https://a/*"}})
	rs, _ := h.sim.Snapshot().Realm("maas")
	c, _ := rs.Client("3scale")
	c.Representation["redirectUris"] = []any{"changed"}
	rs, _ = h.sim.Snapshot().Realm("maas")
	c, _ = rs.Client("3scale")
	if diff := cmp.Diff([]any{"https://a/*"}, c.Representation["redirectUris"]); diff != "" {
		t.Errorf("snapshot shares memory with the simulator (-want +got):\n%s", diff)
	}
	master, _ := h.sim.Snapshot().Realm("master")
	if diff := cmp.Diff([]string{adminUser}, master.Users); diff != "" {
		t.Errorf("seeded users (-want +got):\n%s", diff)
	}
}
