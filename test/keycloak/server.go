// Package keycloak is a stateful, in-memory simulator of the Keycloak admin REST API and
// of the OpenID Connect token endpoint admin clients log in with. Tests drive it through
// the real client library (gocloak) over HTTP, with httptest or the loopback main in
// test/cmd/keycloak-sim.
//
// It follows the behaviour written down in shared/reference/keycloak-admin-api.md: status
// codes, Location headers, the three error body shapes, merge-on-update for clients,
// replace-on-update with a masked secret for identity providers, and what the server adds
// on its own to protocol mappers. Every admin route it serves exists, with the same
// method, in the official Keycloak OpenAPI document (see the conformance test).
//
// Our own router is used instead of http.ServeMux because every call must be known by its
// route template (to count calls and inject faults per operation), Keycloak's path
// parameter names ("{client-uuid}") are not valid ServeMux wildcards, and gocloak sends
// some paths with a trailing slash that ServeMux would not match.
package keycloak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// BasePath is the prefix under which the simulator serves every route.
type BasePath string

const (
	// BasePathKeycloak serves the routes at the root, as Keycloak 17 and later do.
	BasePathKeycloak BasePath = ""
	// BasePathRHSSO serves the routes under "/auth", as Red Hat SSO 7 does.
	BasePathRHSSO BasePath = "/auth"
)

// DefaultTokenLifetime is how long an access token stays valid unless WithTokenLifetime
// says otherwise; it is the master realm's default access token lifespan.
const DefaultTokenLifetime = 60 * time.Second

// TokenTemplate is the route template of the OpenID Connect token endpoint.
const TokenTemplate = "/realms/{realm}/protocol/openid-connect/token"

// maxBody bounds the request bodies the simulator reads.
const maxBody = 1 << 20

// Call identifies one operation the simulator serves: an HTTP method and a route template
// without the base path, for example {Method: "POST", Template: "/admin/realms/{realm}/clients"}.
// A request that matches no route is recorded with its path as the template.
type Call struct {
	Method   string
	Template string
}

// String returns the call as "METHOD template".
func (c Call) String() string { return c.Method + " " + c.Template }

// Server is the simulator. It implements http.Handler; all methods are safe for
// concurrent use.
type Server struct {
	basePath      BasePath
	tokenLifetime time.Duration
	clock         clock.PassiveClock
	hook          func(Call)

	mu      sync.Mutex
	realms  []*realm
	access  map[string]grant
	refresh map[string]grant
	calls   map[Call]int
	faults  map[Call]*fault
	latency time.Duration
}

type fault struct {
	status    int
	remaining int
}

type credential struct {
	id, secret string
}

type config struct {
	basePath        BasePath
	tokenLifetime   time.Duration
	clock           clock.PassiveClock
	hook            func(Call)
	admins          []credential
	serviceAccounts []credential
}

// Option configures a Server built by New.
type Option func(*config)

// WithBasePath selects the prefix of every route (default BasePathKeycloak).
func WithBasePath(p BasePath) Option { return func(c *config) { c.basePath = p } }

// WithTokenLifetime sets how long issued access tokens stay valid (default DefaultTokenLifetime).
func WithTokenLifetime(d time.Duration) Option { return func(c *config) { c.tokenLifetime = d } }

// WithClock sets the clock token lifetimes are measured with, so tests can expire tokens
// by moving a fake clock (default: the real clock).
func WithClock(clk clock.PassiveClock) Option { return func(c *config) { c.clock = clk } }

// WithAdminUser seeds a user of the master realm who may log in with the password grant
// through the admin-cli client and then use the whole admin API.
func WithAdminUser(username, password string) Option {
	return func(c *config) { c.admins = append(c.admins, credential{username, password}) }
}

// WithServiceAccount seeds a confidential client of the master realm with service
// accounts enabled, so it may log in with the client credentials grant and then use the
// whole admin API.
func WithServiceAccount(clientID, secret string) Option {
	return func(c *config) { c.serviceAccounts = append(c.serviceAccounts, credential{clientID, secret}) }
}

// WithCallHook registers a function called with every request's Call before it is
// served and before its token is checked; a test can use it to move a fake clock at an
// exact point of a run. It must not call back into the Server's HTTP handler.
func WithCallHook(hook func(Call)) Option { return func(c *config) { c.hook = hook } }

// New returns a simulator holding only the master realm with its admin-cli client, plus
// the users and service accounts the options seed.
func New(opts ...Option) *Server {
	cfg := config{tokenLifetime: DefaultTokenLifetime, clock: clock.RealClock{}}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		basePath:      cfg.basePath,
		tokenLifetime: cfg.tokenLifetime,
		clock:         cfg.clock,
		hook:          cfg.hook,
		access:        map[string]grant{},
		refresh:       map[string]grant{},
		calls:         map[Call]int{},
		faults:        map[Call]*fault{},
	}
	master := s.addRealm(map[string]any{"realm": masterRealm, "enabled": true, "displayName": "Keycloak"})
	for _, a := range cfg.admins {
		master.users[a.id] = a.secret
	}
	for _, sa := range cfg.serviceAccounts {
		master.addClient(map[string]any{
			"clientId":               sa.id,
			"secret":                 sa.secret,
			"publicClient":           false,
			"serviceAccountsEnabled": true,
			"standardFlowEnabled":    false,
		})
	}
	return s
}

// BasePath returns the prefix the simulator serves its routes under.
func (s *Server) BasePath() BasePath { return s.basePath }

// Calls returns how many requests the simulator received per Call since it was built or
// last reset, including requests that failed.
func (s *Server) Calls() map[Call]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Call]int, len(s.calls))
	for c, n := range s.calls {
		out[c] = n
	}
	return out
}

// Writes returns how many admin API requests other than GET the simulator received since
// it was built or last reset; token requests are not writes.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c, count := range s.calls {
		if c.Method != http.MethodGet && c.Template != TokenTemplate {
			n += count
		}
	}
	return n
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[Call]int{}
}

// FailNext makes the next n requests of call answer with status (and a Keycloak error
// body) instead of being served. The failed requests change no state but are counted.
func (s *Server) FailNext(call Call, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[call] = &fault{status: status, remaining: n}
}

// SetLatency delays every following request by d (0 turns the delay off). A request
// whose client goes away while it waits is dropped.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// ServeHTTP serves one request of the token endpoint or the admin API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A path outside the base path matches no route and is recorded as it came.
	path, prefixed := strings.CutPrefix(r.URL.Path, string(s.basePath))
	prefixed = prefixed && strings.HasPrefix(path, "/")
	if !prefixed {
		path = r.URL.Path
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	var (
		rt        *route
		params    map[string]string
		pathKnown bool
	)
	if prefixed {
		rt, params, pathKnown = lookup(r.Method, path)
	}
	call := Call{Method: r.Method, Template: path}
	if rt != nil {
		call.Template = rt.template
	}

	s.mu.Lock()
	s.calls[call]++
	latency := s.latency
	s.mu.Unlock()

	if s.hook != nil {
		s.hook(call)
	}
	if !wait(r.Context(), latency) {
		return
	}
	switch {
	case rt == nil && pathKnown:
		writeResponse(w, genericError(http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed"))
	case rt == nil:
		writeResponse(w, genericError(http.StatusNotFound, "HTTP 404 Not Found"))
	default:
		writeResponse(w, s.serve(rt, call, r, params))
	}
}

// serve runs one matched route: fault injection, authentication, then the handler, all
// under the state lock so every request sees and leaves a consistent state.
func (s *Server) serve(rt *route, call Call, r *http.Request, params map[string]string) response {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return genericError(http.StatusBadRequest, "unknown_error")
	}
	rq := &request{
		http:    r,
		params:  params,
		body:    body,
		baseURL: baseURL(r, s.basePath),
	}
	if rt.template == TokenTemplate {
		if rq.form, err = url.ParseQuery(string(body)); err != nil {
			return oauthError(http.StatusBadRequest, "invalid_request", "Invalid form body")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.faults[call]; f != nil && f.remaining > 0 {
		f.remaining--
		return injected(f.status)
	}
	if rt.admin {
		if resp, allowed := s.authorize(r); !allowed {
			return resp
		}
	}
	return rt.handle(s, rq)
}

func baseURL(r *http.Request, base BasePath) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + string(base)
}

// wait sleeps for d unless ctx ends first; it reports whether the request should go on.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// request is what a handler gets: the parsed pieces of one HTTP request.
type request struct {
	http    *http.Request
	params  map[string]string
	body    []byte
	form    url.Values // of token requests
	baseURL string
}

// decode unmarshals the JSON body into v.
func (rq *request) decode(v any) bool {
	return json.Unmarshal(rq.body, v) == nil
}

// response is what a handler returns; writeResponse turns it into HTTP.
type response struct {
	status   int
	body     any
	location string
}

func writeResponse(w http.ResponseWriter, resp response) {
	if resp.location != "" {
		w.Header().Set("Location", resp.location)
	}
	if resp.body == nil {
		w.WriteHeader(resp.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	// The client may be gone; there is no one to report a write error to.
	_ = json.NewEncoder(w).Encode(resp.body)
}

func ok(body any) response { return response{status: http.StatusOK, body: body} }

func noContent() response { return response{status: http.StatusNoContent} }

func created(location string) response {
	return response{status: http.StatusCreated, location: location}
}

// errorMessage is Keycloak's ErrorResponse shape, used for validation errors and conflicts.
func errorMessage(status int, msg string) response {
	return response{status: status, body: map[string]string{"errorMessage": msg}}
}

// genericError is the shape of Keycloak's generic exception mapper (not found, unauthorized).
func genericError(status int, msg string) response {
	return response{status: status, body: map[string]string{"error": msg}}
}

// oauthError is the OAuth 2.0 error shape of the token endpoint.
func oauthError(status int, code, description string) response {
	return response{status: status, body: map[string]string{"error": code, "error_description": description}}
}

// injected is the answer of an injected fault: Keycloak's body for unexpected server
// errors, or the generic shape for any other status.
func injected(status int) response {
	if status >= http.StatusInternalServerError {
		return genericError(status, "unknown_error")
	}
	return genericError(status, fmt.Sprintf("HTTP %d %s", status, http.StatusText(status)))
}
