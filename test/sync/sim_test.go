package sync_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// simModel is what the simulator holds for one system name, in comparable form.
type simModel struct {
	Products          int
	Backends          int
	Name              string
	Owner             map[string]string
	PrivateEndpoint   string
	Usages            []string
	Auth              []string
	Policies          []string
	CORS              map[string]any
	Metrics           []string
	Methods           []string
	Rules             []string
	Plans             []string
	Docs              []string
	StagingVersion    int
	ProductionVersion int
	Subscribed        []string
	Endpoint          string
}

// describe reads the live objects named systemName from a snapshot.
func describe(snap threescalesim.State, systemName string) simModel {
	var m simModel
	var sid, bid int64
	for _, s := range snap.Services {
		if s.SystemName == systemName && s.DeletedAt.IsZero() {
			m.Products++
			sid, m.Name, m.Owner = s.ID, s.Name, s.Annotations
		}
	}
	for _, b := range snap.Backends {
		if b.SystemName == systemName && b.DeletedAt.IsZero() {
			m.Backends++
			bid, m.PrivateEndpoint = b.ID, b.PrivateEndpoint
		}
	}
	if sid == 0 {
		for _, d := range snap.ActiveDocs {
			if d.SystemName == systemName {
				m.Docs = append(m.Docs, fmt.Sprintf("%s unbound", d.Name))
			}
		}
		return m
	}
	for _, u := range snap.BackendUsages {
		if u.ServiceID == sid {
			m.Usages = append(m.Usages, fmt.Sprintf("%s own=%v", u.Path, u.BackendID == bid))
		}
	}
	for _, p := range snap.Proxies {
		if p.ServiceID != sid {
			continue
		}
		m.Auth = []string{p.Attrs["credentials_location"], p.Attrs["auth_user_key"]}
		m.Endpoint = p.Attrs["endpoint"]
		for _, pol := range p.Policies {
			m.Policies = append(m.Policies, fmt.Sprint(pol["name"]))
			if pol["name"] == "cors" {
				m.CORS = normalize(pol["configuration"])
			}
		}
	}
	names := map[int64]string{}
	for _, mt := range snap.Metrics {
		if mt.OwnerKind != threescalesim.OwnerService || mt.OwnerID != sid {
			continue
		}
		names[mt.ID] = mt.SystemName
		if mt.ParentID == 0 {
			m.Metrics = append(m.Metrics, mt.SystemName)
		} else {
			m.Methods = append(m.Methods, mt.SystemName)
		}
	}
	for _, r := range snap.MappingRules {
		if r.OwnerKind == threescalesim.OwnerService && r.OwnerID == sid {
			m.Rules = append(m.Rules, fmt.Sprintf("%s %s -> %s +%d", r.HTTPMethod, r.Pattern, names[r.MetricID], r.Delta))
		}
	}
	for _, p := range snap.Plans {
		if p.ServiceID != sid || p.Kind != threescalesim.PlanApplication {
			continue
		}
		var parts []string
		for _, l := range snap.Limits {
			if l.PlanID == p.ID {
				parts = append(parts, fmt.Sprintf("%s/%s=%d", names[l.MetricID], l.Period, l.Value))
			}
		}
		for _, pr := range snap.PricingRules {
			if pr.PlanID == p.ID {
				parts = append(parts, fmt.Sprintf("%s[%d-%d]@%s", names[pr.MetricID], pr.Min, pr.Max, pr.CostPerUnit))
			}
		}
		sort.Strings(parts)
		m.Plans = append(m.Plans, fmt.Sprintf("%s %q %s approval=%v month=%v {%s}", p.SystemName, p.Name, p.State, p.ApprovalRequired, p.CostPerMonth, strings.Join(parts, " ")))
	}
	for _, d := range snap.ActiveDocs {
		if d.SystemName != systemName {
			continue
		}
		var body struct {
			Servers []struct{ URL string } `json:"servers"`
			Paths   map[string]any         `json:"paths"`
		}
		_ = json.Unmarshal([]byte(d.Body), &body)
		var paths, servers []string
		for p := range body.Paths {
			paths = append(paths, p)
		}
		for _, s := range body.Servers {
			servers = append(servers, s.URL)
		}
		sort.Strings(paths)
		m.Docs = append(m.Docs, fmt.Sprintf("%s published=%v bound=%v servers=%v paths=%v", d.Name, d.Published, d.ServiceID == sid, servers, paths))
	}
	for _, pc := range snap.ProxyConfigs {
		if pc.ServiceID != sid {
			continue
		}
		if pc.Environment == "sandbox" {
			m.StagingVersion = max(m.StagingVersion, pc.Version)
		} else {
			m.ProductionVersion = max(m.ProductionVersion, pc.Version)
		}
	}
	orgs := map[int64]string{}
	for _, a := range snap.Accounts {
		orgs[a.ID] = a.OrgName
	}
	for _, s := range snap.Subscriptions {
		if s.ServiceID == sid {
			m.Subscribed = append(m.Subscribed, orgs[s.AccountID])
		}
	}
	for _, l := range [][]string{m.Metrics, m.Methods, m.Rules, m.Subscribed} {
		slices.Sort(l)
	}
	return m
}

func normalize(v any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// liveProducts lists the system names of the live products other than the tenant's
// default one.
func liveProducts(snap threescalesim.State) []string {
	var out []string
	for _, s := range snap.Services {
		if s.DeletedAt.IsZero() && s.SystemName != "api" {
			out = append(out, s.SystemName)
		}
	}
	slices.Sort(out)
	return out
}

func liveBackends(snap threescalesim.State) []string {
	var out []string
	for _, b := range snap.Backends {
		if b.DeletedAt.IsZero() {
			out = append(out, b.SystemName)
		}
	}
	slices.Sort(out)
	return out
}

func docNames(snap threescalesim.State) []string {
	var out []string
	for _, d := range snap.ActiveDocs {
		out = append(out, d.SystemName)
	}
	slices.Sort(out)
	return out
}

// writes counts the requests that were not reads.
func writes(sim *threescalesim.Server) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method != "GET" {
			n++
		}
	}
	return n
}

func callSummary(sim *threescalesim.Server) string {
	var parts []string
	for k, n := range sim.Calls() {
		parts = append(parts, fmt.Sprintf("%s %s=%d", k.Method, k.Op, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
