package threescalesim

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Service is a product (porta's Service).
type Service struct {
	ID                   int64
	Name                 string
	SystemName           string
	Description          string
	State                string
	BackendVersion       string
	DeploymentOption     string
	SupportEmail         string
	Annotations          map[string]string
	DefaultServicePlanID int64
	CreatedAt, UpdatedAt time.Time
	// DeletedAt is set by a soft delete; the system name stays taken until purge.
	DeletedAt time.Time
}

// Backend is a backend API.
type Backend struct {
	ID                   int64
	Name                 string
	SystemName           string
	Description          string
	PrivateEndpoint      string
	Annotations          map[string]string
	CreatedAt, UpdatedAt time.Time
	DeletedAt            time.Time
}

// Owner kinds of metrics and mapping rules.
const (
	OwnerService = "service"
	OwnerBackend = "backend"
)

// Metric is a metric or, with ParentID set, a method of a product or backend.
type Metric struct {
	ID        int64
	OwnerKind string
	OwnerID   int64
	ParentID  int64
	// SystemName is stored as porta stores it: with ".<backend_id>" for backends.
	SystemName           string
	FriendlyName         string
	Unit                 string
	Description          string
	CreatedAt, UpdatedAt time.Time
}

// MappingRule is a product or backend mapping rule.
type MappingRule struct {
	ID                   int64
	OwnerKind            string
	OwnerID              int64
	MetricID             int64
	HTTPMethod           string
	Pattern              string
	Delta                int
	Position             int
	Last                 bool
	CreatedAt, UpdatedAt time.Time
}

// BackendUsage binds a backend to a product at a path.
type BackendUsage struct {
	ID        int64
	ServiceID int64
	BackendID int64
	Path      string
}

// Proxy is a product's gateway settings. Attrs hold every permitted proxy
// attribute as porta renders it (strings; error_status_* rendered as numbers).
type Proxy struct {
	ServiceID            int64
	Attrs                map[string]string
	LockVersion          int
	Policies             []map[string]any
	CreatedAt, UpdatedAt time.Time
}

// ProxyConfig is one gateway configuration version of an environment.
type ProxyConfig struct {
	ID          int64
	ServiceID   int64
	Environment string
	Version     int
	Content     map[string]any
	// digest identifies the content without timestamps, to detect changes.
	digest string
	// metricIDs are the metrics the content's mapping rules use.
	metricIDs []int64
}

// Plan kinds.
const (
	PlanApplication = "application"
	PlanService     = "service"
)

// Plan is an application or service plan of a product.
type Plan struct {
	ID                   int64
	Kind                 string
	ServiceID            int64
	Name                 string
	SystemName           string
	Description          string
	State                string
	Default              bool
	ApprovalRequired     bool
	SetupFee             float64
	CostPerMonth         float64
	TrialPeriodDays      int
	CreatedAt, UpdatedAt time.Time
}

// Limit is a usage limit of an application plan on a metric and period.
type Limit struct {
	ID                   int64
	PlanID               int64
	MetricID             int64
	Period               string
	Value                int
	CreatedAt, UpdatedAt time.Time
}

// PricingRule prices a metric's usage in a range on an application plan.
type PricingRule struct {
	ID                   int64
	PlanID               int64
	MetricID             int64
	CostPerUnit          string
	Min, Max             int
	CreatedAt, UpdatedAt time.Time
}

// ActiveDoc is an API documentation (OpenAPI) page.
type ActiveDoc struct {
	ID                     int64
	Name                   string
	SystemName             string
	Description            string
	Body                   string
	Published              bool
	SkipSwaggerValidations bool
	// ServiceID is 0 when the doc is bound to no product.
	ServiceID            int64
	CreatedAt, UpdatedAt time.Time
}

// Account is a developer (buyer) account.
type Account struct {
	ID                   int64
	OrgName              string
	State                string
	Annotations          map[string]string
	CreatedAt, UpdatedAt time.Time
}

// Subscription is a service subscription (service contract) of an account.
type Subscription struct {
	ID                   int64
	AccountID            int64
	PlanID               int64
	ServiceID            int64
	State                string
	CreatedAt, UpdatedAt time.Time
}

// AuthProvider is a developer-portal SSO integration.
type AuthProvider struct {
	ID                             int64
	Kind                           string
	Name                           string
	SystemName                     string
	ClientID                       string
	ClientSecret                   string
	Site                           string
	TokenURL                       string
	UserInfoURL                    string
	AuthorizeURL                   string
	IdentifierKey                  string
	UsernameKey                    string
	TrustEmail                     bool
	Published                      bool
	SkipSSLCertificateVerification bool
	AutomaticallyApproveAccounts   bool
	CreatedAt, UpdatedAt           time.Time
}

// Provider is the tenant's own (provider) account.
type Provider struct {
	ID                  int64
	OrgName             string
	AdminDomain         string
	Domain              string
	FromEmail           string
	SupportEmail        string
	FinanceSupportEmail string
	SiteAccessCode      string
}

// State is a copy of the simulator's whole state, for assertions.
type State struct {
	Services      []Service
	Backends      []Backend
	Metrics       []Metric
	MappingRules  []MappingRule
	BackendUsages []BackendUsage
	Proxies       []Proxy
	ProxyConfigs  []ProxyConfig
	Plans         []Plan
	Limits        []Limit
	PricingRules  []PricingRule
	ActiveDocs    []ActiveDoc
	Accounts      []Account
	Subscriptions []Subscription
	AuthProviders []AuthProvider
	Provider      Provider
	Settings      map[string]string
}

type state struct {
	nextID        int64
	services      map[int64]*Service
	backends      map[int64]*Backend
	metrics       map[int64]*Metric
	rules         map[int64]*MappingRule
	usages        map[int64]*BackendUsage
	proxies       map[int64]*Proxy
	configs       []*ProxyConfig
	plans         map[int64]*Plan
	limits        map[int64]*Limit
	pricing       map[int64]*PricingRule
	docs          map[int64]*ActiveDoc
	accounts      map[int64]*Account
	subs          map[int64]*Subscription
	authProviders map[int64]*AuthProvider
	provider      Provider
	settings      map[string]string
}

func newState() *state {
	return &state{
		nextID:        1000,
		services:      map[int64]*Service{},
		backends:      map[int64]*Backend{},
		metrics:       map[int64]*Metric{},
		rules:         map[int64]*MappingRule{},
		usages:        map[int64]*BackendUsage{},
		proxies:       map[int64]*Proxy{},
		plans:         map[int64]*Plan{},
		limits:        map[int64]*Limit{},
		pricing:       map[int64]*PricingRule{},
		docs:          map[int64]*ActiveDoc{},
		accounts:      map[int64]*Account{},
		subs:          map[int64]*Subscription{},
		authProviders: map[int64]*AuthProvider{},
		settings: map[string]string{
			"useraccountarea_enabled":        "true",
			"hide_service":                   "false",
			"signups_enabled":                "true",
			"account_approval_required":      "false",
			"public_search":                  "false",
			"account_plans_ui_visible":       "false",
			"change_account_plan_permission": "request",
			"service_plans_ui_visible":       "false",
			"change_service_plan_permission": "request",
			"enforce_sso":                    "false",
		},
	}
}

func (st *state) id() int64 {
	st.nextID++
	return st.nextID
}

// sorted returns the map's values ordered by id (porta lists oldest first).
func sorted[T any](m map[int64]*T) []*T {
	out := make([]*T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func copies[T any](m map[int64]*T) []T {
	out := make([]T, 0, len(m))
	for _, v := range sorted(m) {
		out = append(out, *v)
	}
	return out
}

// Snapshot returns a copy of the state.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	out := State{
		Services:      copies(st.services),
		Backends:      copies(st.backends),
		Metrics:       copies(st.metrics),
		MappingRules:  copies(st.rules),
		BackendUsages: copies(st.usages),
		Proxies:       copies(st.proxies),
		Plans:         copies(st.plans),
		Limits:        copies(st.limits),
		PricingRules:  copies(st.pricing),
		ActiveDocs:    copies(st.docs),
		Accounts:      copies(st.accounts),
		Subscriptions: copies(st.subs),
		AuthProviders: copies(st.authProviders),
		Provider:      st.provider,
		Settings:      maps.Clone(st.settings),
	}
	for i := range out.Services {
		out.Services[i].Annotations = maps.Clone(out.Services[i].Annotations)
	}
	for i := range out.Backends {
		out.Backends[i].Annotations = maps.Clone(out.Backends[i].Annotations)
	}
	for i := range out.Proxies {
		out.Proxies[i].Attrs = maps.Clone(out.Proxies[i].Attrs)
		out.Proxies[i].Policies = slices.Clone(out.Proxies[i].Policies)
	}
	for _, pc := range st.configs {
		out.ProxyConfigs = append(out.ProxyConfigs, *pc)
	}
	return out
}

// SeedAccounts adds n approved developer accounts named "<prefix>-<i>" and
// returns their ids.
func (s *Server) SeedAccounts(prefix string, n int) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock()
	ids := make([]int64, 0, n)
	for i := range n {
		a := &Account{ID: s.st.id(), OrgName: prefix + "-" + strconv.Itoa(i+1), State: "approved", CreatedAt: now, UpdatedAt: now}
		s.st.accounts[a.ID] = a
		ids = append(ids, a.ID)
	}
	return ids
}

// Purge removes soft-deleted products and backends now, as porta's
// DeleteObjectHierarchyWorker eventually does, freeing their system names.
func (s *Server) Purge() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(s.cfg.Clock(), true)
}

func (s *Server) purge(now time.Time, all bool) {
	due := func(t time.Time) bool { return !t.IsZero() && (all || now.Sub(t) >= s.cfg.PurgeAfter) }
	for id, svc := range s.st.services {
		if due(svc.DeletedAt) {
			s.removeServiceTree(id)
		}
	}
	for id, b := range s.st.backends {
		if due(b.DeletedAt) {
			s.removeOwned(OwnerBackend, id)
			delete(s.st.backends, id)
		}
	}
}

func (s *Server) removeServiceTree(id int64) {
	st := s.st
	s.removeOwned(OwnerService, id)
	for pid, p := range st.plans {
		if p.ServiceID == id {
			s.removePlan(pid)
		}
	}
	for uid, u := range st.usages {
		if u.ServiceID == id {
			delete(st.usages, uid)
		}
	}
	for sid, sub := range st.subs {
		if sub.ServiceID == id {
			delete(st.subs, sid)
		}
	}
	st.configs = slices.DeleteFunc(st.configs, func(pc *ProxyConfig) bool { return pc.ServiceID == id })
	delete(st.proxies, id)
	delete(st.services, id)
}

// removeOwned removes the metrics (with their limits and pricing rules) and
// mapping rules of an owner.
func (s *Server) removeOwned(kind string, id int64) {
	for mid, m := range s.st.metrics {
		if m.OwnerKind == kind && m.OwnerID == id {
			s.removeMetric(mid)
		}
	}
}

func (s *Server) removeMetric(id int64) {
	st := s.st
	for cid, m := range st.metrics {
		if m.ParentID == id {
			s.removeMetric(cid)
		}
	}
	for lid, l := range st.limits {
		if l.MetricID == id {
			delete(st.limits, lid)
		}
	}
	for rid, r := range st.pricing {
		if r.MetricID == id {
			delete(st.pricing, rid)
		}
	}
	for rid, r := range st.rules {
		if r.MetricID == id {
			delete(st.rules, rid)
		}
	}
	delete(st.metrics, id)
}

func (s *Server) removePlan(id int64) {
	for lid, l := range s.st.limits {
		if l.PlanID == id {
			delete(s.st.limits, lid)
		}
	}
	for rid, r := range s.st.pricing {
		if r.PlanID == id {
			delete(s.st.pricing, rid)
		}
	}
	delete(s.st.plans, id)
}

var (
	systemNameRE = regexp.MustCompile(`^\w[\w\-/]+$`)
	nonWordRE    = regexp.MustCompile(`[^a-z0-9]+`)
)

// validateSystemName adds porta's system_name errors; taken reports whether another
// object of the same scope already uses it.
func validateSystemName(errs fieldErrors, name string, taken bool) {
	switch {
	case name == "":
		errs.add("system_name", "can't be blank")
	case len(name) > 255:
		errs.add("system_name", "is too long (maximum is 255 characters)")
	case !systemNameRE.MatchString(name):
		errs.add("system_name", "invalid")
	case taken:
		errs.add("system_name", "has already been taken")
	}
}

// generateSystemName is name.parameterize.underscore.
func generateSystemName(name string) string {
	return strings.Trim(nonWordRE.ReplaceAllString(strings.ToLower(name), "_"), "_")
}
