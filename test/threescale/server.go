// Package threescalesim is a stateful, in-memory simulator of the 3scale Account
// Management (Admin) API, faithful to the behaviour written down in
// shared/reference/threescale-admin-api.md: format by path extension, JSON-only
// endpoints, flat and wrapped parameters, Rails-style status codes and error bodies,
// pagination, soft deletes and the side effects of creating a product.
//
// A Server is an http.Handler, so tests start it with httptest.NewServer (or
// NewTestServer); test/cmd/threescale-sim serves it on a loopback port. Knobs inject
// latency and faults, and the server records every request (with the time read from
// its injectable clock) so tests can count calls and measure rates.
//
// The package is named threescalesim, not after its directory, so that tests can
// import it next to pkg/threescale without an alias.
package threescalesim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config holds the tenant the simulator serves and its knobs that must be set before
// the first request. The zero value is usable.
type Config struct {
	// Token is the access token the simulator accepts. Default "sim-token".
	Token string
	// Tenant is the tenant name used in the default gateway endpoints. Default "acme".
	Tenant string
	// Domain is the wildcard domain of the default gateway endpoints. Default
	// "example.com".
	Domain string
	// Clock returns the current time; it stamps requests, objects and soft deletes.
	// Default time.Now.
	Clock func() time.Time
	// PurgeAfter is how long a soft-deleted product or backend keeps its system name
	// taken (porta purges asynchronously). Default 5 minutes by Clock.
	PurgeAfter time.Duration
	// Seed seeds the random source of probabilistic faults. Zero means 1.
	Seed uint64
	// HangFor caps how long a timeout fault holds a request when the client does not
	// give up first. Default 30 seconds.
	HangFor time.Duration
}

func (c Config) withDefaults() Config {
	if c.Token == "" {
		c.Token = "sim-token"
	}
	if c.Tenant == "" {
		c.Tenant = "acme"
	}
	if c.Domain == "" {
		c.Domain = "example.com"
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.PurgeAfter == 0 {
		c.PurgeAfter = 5 * time.Minute
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.HangFor == 0 {
		c.HangFor = 30 * time.Second
	}
	return c
}

// Server is the simulator. Create it with New; it is safe for concurrent use.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	routes []*route

	mu sync.Mutex // guards st
	st *state

	knobs knobs
}

// New returns a simulator for one tenant, seeded like a fresh porta tenant: a
// provider account, default settings and the default "API" product.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, mux: http.NewServeMux(), st: newState()}
	s.knobs.init(cfg.Seed)
	s.registerRoutes()
	s.mu.Lock()
	s.st.provider = Provider{
		ID: s.st.id(), OrgName: cfg.Tenant, AdminDomain: cfg.Tenant + "-admin." + cfg.Domain,
		Domain: cfg.Tenant + "." + cfg.Domain, SiteAccessCode: randomHex(5),
	}
	s.createService(cfg.Clock(), "API", "api", params{m: map[string]any{}})
	s.mu.Unlock()
	return s
}

// NewTestServer starts a simulator on an httptest server closed at the end of the
// test, and returns both.
func NewTestServer(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s := New(cfg)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// Token returns the access token the simulator accepts.
func (s *Server) Token() string { return s.cfg.Token }

type formatKey struct{}

// request formats, chosen by path extension like Rails' params[:format].
const (
	formatJSON = "json"
	formatXML  = "xml"
)

// ServeHTTP strips the format extension from the path and dispatches to the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, format, explicit := splitFormat(r.URL.Path)
	r2 := r.Clone(context.WithValue(r.Context(), formatKey{}, formatInfo{format: format, explicit: explicit}))
	r2.URL.Path = path
	r2.URL.RawPath = ""
	if _, pattern := s.mux.Handler(r2); pattern == "" {
		now := s.cfg.Clock()
		s.knobs.record(RequestRecord{Time: now, Method: r.Method, Path: r.URL.Path, Status: http.StatusNotFound})
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "Not found"})
		return
	}
	s.mux.ServeHTTP(w, r2)
}

type formatInfo struct {
	format   string
	explicit bool
}

// splitFormat returns the path without its .json/.xml extension, the format, and
// whether the extension was present. Without one, porta defaults to XML under
// /admin/api; JSON-only routes override that default in the route wrapper.
func splitFormat(p string) (string, string, bool) {
	for _, f := range []string{formatJSON, formatXML} {
		if strings.HasSuffix(p, "."+f) {
			return strings.TrimSuffix(p, "."+f), f, true
		}
	}
	return p, formatXML, false
}

// route is one operation: method, extension-less path pattern and handler.
type route struct {
	Route
	wrapper string
	handle  func(*call)
}

// Route describes one operation the simulator serves, for conformance checks and
// for naming operations in knobs.
type Route struct {
	// Op names the operation, e.g. "services.create"; knobs and counters use it.
	Op string
	// Method is the HTTP method.
	Method string
	// Pattern is the path without extension, wildcards in braces.
	Pattern string
	// JSONOnly is true for endpoints that answer .xml with 406.
	JSONOnly bool
	// SpecGap explains why the route is served although the OpenAPI spec omits it
	// (porta's routes accept it); empty when the spec lists it.
	SpecGap string
}

// Routes returns every operation the simulator serves.
func (s *Server) Routes() []Route {
	out := make([]Route, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, rt.Route)
	}
	return out
}

func (s *Server) handle(rt *route) {
	s.routes = append(s.routes, rt)
	s.mux.Handle(rt.Method+" "+rt.Pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveRoute(rt, w, r)
	}))
}

func (s *Server) serveRoute(rt *route, w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Clock()
	fi, _ := r.Context().Value(formatKey{}).(formatInfo)
	if rt.JSONOnly && !fi.explicit {
		fi.format = formatJSON
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	p, perr := parseParams(r, rt.wrapper)
	defer func() {
		s.knobs.record(RequestRecord{
			Time: now, Op: rt.Op, Method: r.Method, Pattern: rt.Pattern,
			Path: r.URL.Path, Params: p.keys, Status: rec.status,
		})
	}()
	s.knobs.sleep(r.Context(), rt.Op)
	if s.knobs.inject(r.Context(), rt.Op, rec, s.cfg.HangFor) {
		return
	}
	c := &call{s: s, w: rec, r: r, format: fi.format, p: p, now: now}
	if rt.JSONOnly && fi.format == formatXML {
		rec.WriteHeader(http.StatusNotAcceptable)
		return
	}
	if !s.authorized(r, p) {
		c.errorMessage(http.StatusForbidden, "Access denied")
		return
	}
	if perr != nil {
		c.errorMessage(http.StatusBadRequest, perr.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now, false)
	rt.handle(c)
}

// authorized accepts the token as access_token (query or body) or in HTTP Basic,
// as password or user name, like porta's ApiAuthentication.
func (s *Server) authorized(r *http.Request, p params) bool {
	if tok, ok := p.str("access_token"); ok {
		return tok == s.cfg.Token
	}
	if u, pw, ok := r.BasicAuth(); ok {
		if pw != "" {
			return pw == s.cfg.Token
		}
		return u == s.cfg.Token
	}
	return false
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
