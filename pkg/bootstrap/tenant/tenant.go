// Package tenant is the 3scale tenant step of the bootstrap job, through
// pkg/threescale: the developer portal's Keycloak SSO integration, the portal opened
// (no access code), the settings that let developers who sign in through SSO reach the
// product listing, and optionally the removal of the "API" product (and its backends)
// that every new tenant starts with, when nobody has changed them.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	porta "github.com/3scale/3scale-porta-go-client/client"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// Kinds of the objects the step reports on.
const (
	// KindSSOIntegration is the developer portal's SSO integration.
	KindSSOIntegration = "SSO integration"
	// KindProviderAccount is the tenant's own account (the portal access code).
	KindProviderAccount = "provider account"
	// KindSettings are the tenant settings.
	KindSettings = "settings"
	// KindProduct is a 3scale product.
	KindProduct = "product"
	// KindBackend is a 3scale backend.
	KindBackend = "backend"
)

// SSOKind is the kind of the SSO integration the step manages; 3scale allows one
// integration per kind, which is how the step finds it again.
const SSOKind = "keycloak"

// DefaultSystemName is the system name of the product (and backend) a new tenant
// starts with.
const DefaultSystemName = "api"

// SSO is the desired developer-portal SSO integration.
type SSO struct {
	// Name is the integration's name shown on the portal's sign-in page (used when
	// creating it; 3scale cannot change it later).
	Name string
	// ClientID is the Keycloak client's id.
	ClientID string
	// ClientSecret is the Keycloak client's secret. Empty means unknown (a dry run
	// before the secret was ever stored): it is then not compared.
	ClientSecret string
	// Site is the realm URL.
	Site string
}

// Options configure the step.
type Options struct {
	// SSO is the desired SSO integration.
	SSO SSO
	// RemoveDefaultAPI deletes the tenant's default "API" product and its backends
	// when they are untouched.
	RemoveDefaultAPI bool
}

// portalSettings are the tenant settings the portal listing needs, with why:
//   - signups_enabled: a developer's first SSO sign-in signs the account up; with
//     signups disabled the portal refuses it;
//   - account_approval_required false: a pending account cannot see plans or get
//     keys, and the SSO integration's automatic approval is the gate the job wants;
//   - useraccountarea_enabled: the account area is where developers see their
//     applications and keys.
var portalSettings = []struct {
	key  string
	want bool
	got  func(*threescale.Settings) bool
}{
	{"signups_enabled", true, func(s *threescale.Settings) bool { return s.SignupsEnabled }},
	{"account_approval_required", false, func(s *threescale.Settings) bool { return s.AccountApprovalRequired }},
	{"useraccountarea_enabled", true, func(s *threescale.Settings) bool { return s.UserAccountAreaEnabled }},
}

// Ensure makes one pass over the tenant; in a dry run it only reads. It returns the
// actions taken before an error too.
func Ensure(ctx context.Context, c *threescale.Client, opts Options, dryRun bool) ([]report.Action, error) {
	var actions []report.Action
	steps := []func(context.Context, *threescale.Client, Options, bool) ([]report.Action, error){
		ensureSSO, ensurePortalOpen, ensureSettings,
	}
	if opts.RemoveDefaultAPI {
		steps = append(steps, removeDefaultAPI)
	}
	for _, step := range steps {
		a, err := step(ctx, c, opts, dryRun)
		actions = append(actions, a...)
		if err != nil {
			return actions, err
		}
	}
	return actions, nil
}

func ensureSSO(ctx context.Context, c *threescale.Client, opts Options, dryRun bool) ([]report.Action, error) {
	want := opts.SSO
	all, err := c.ListAuthenticationProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("list SSO integrations: %w", err)
	}
	var got *threescale.AuthenticationProvider
	for i := range all {
		if all[i].Kind == SSOKind {
			got = &all[i]
			break
		}
	}
	params := porta.Params{
		"client_id":                      want.ClientID,
		"client_secret":                  want.ClientSecret,
		"site":                           want.Site,
		"published":                      "true",
		"automatically_approve_accounts": "true",
	}
	if got == nil {
		if !dryRun {
			create := porta.Params{"kind": SSOKind, "name": want.Name}
			for k, v := range params {
				create[k] = v
			}
			if _, err := c.CreateAuthenticationProvider(ctx, create); err != nil {
				return nil, fmt.Errorf("create SSO integration %s: %w", SSOKind, err)
			}
		}
		return []report.Action{{Verb: report.VerbCreate, Kind: KindSSOIntegration, Name: SSOKind}}, nil
	}

	name := fmt.Sprintf("%s (id %d)", SSOKind, got.ID)
	update := porta.Params{}
	var fields []string
	drift := func(key string, differs bool) {
		if differs {
			update[key] = params[key]
			fields = append(fields, key)
		}
	}
	drift("client_id", got.ClientID != want.ClientID)
	drift("client_secret", want.ClientSecret != "" && got.ClientSecret != want.ClientSecret)
	drift("site", got.Site != want.Site)
	drift("published", !got.Published)
	drift("automatically_approve_accounts", !got.AutomaticallyApproveAccounts)
	if len(fields) == 0 {
		return []report.Action{{Verb: report.VerbUnchanged, Kind: KindSSOIntegration, Name: name}}, nil
	}
	if !dryRun {
		if _, err := c.UpdateAuthenticationProvider(ctx, got.ID, update); err != nil {
			return nil, fmt.Errorf("update SSO integration %s: %w", name, err)
		}
	}
	return []report.Action{{Verb: report.VerbUpdate, Kind: KindSSOIntegration, Name: name, Fields: fields}}, nil
}

// ensurePortalOpen removes the developer portal's access code, which otherwise hides
// the portal (and its product listing) behind a shared password.
func ensurePortalOpen(ctx context.Context, c *threescale.Client, _ Options, dryRun bool) ([]report.Action, error) {
	acct, err := c.ProviderAccount(ctx)
	if err != nil {
		return nil, fmt.Errorf("read provider account: %w", err)
	}
	a := report.Action{Verb: report.VerbUnchanged, Kind: KindProviderAccount, Name: acct.OrgName}
	if acct.SiteAccessCode == "" {
		return []report.Action{a}, nil
	}
	if !dryRun {
		if _, err := c.UpdateProviderAccount(ctx, porta.Params{"site_access_code": ""}); err != nil {
			return nil, fmt.Errorf("remove the developer portal access code: %w", err)
		}
	}
	a.Verb, a.Fields = report.VerbUpdate, []string{"site_access_code"}
	return []report.Action{a}, nil
}

func ensureSettings(ctx context.Context, c *threescale.Client, _ Options, dryRun bool) ([]report.Action, error) {
	got, err := c.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tenant settings: %w", err)
	}
	update := porta.Params{}
	var fields []string
	for _, s := range portalSettings {
		if s.got(got) != s.want {
			update[s.key] = strconv.FormatBool(s.want)
			fields = append(fields, s.key)
		}
	}
	a := report.Action{Verb: report.VerbUnchanged, Kind: KindSettings, Name: "tenant"}
	if len(fields) == 0 {
		return []report.Action{a}, nil
	}
	if !dryRun {
		if _, err := c.UpdateSettings(ctx, update); err != nil {
			return nil, fmt.Errorf("update tenant settings: %w", err)
		}
	}
	a.Verb, a.Fields = report.VerbUpdate, fields
	return []report.Action{a}, nil
}

// reasonTouched is the reason the default product is kept.
const reasonTouched = "changed since the tenant was created, kept"

// removeDefaultAPI deletes the default "API" product and the backends only it uses,
// when they are as 3scale created them: the product keeps its defaults (name "API",
// no description or annotations, never updated, backend version 1, hosted), has no
// application plans and only the default "GET /" mapping rule; a backend is untouched
// when it was never updated and has no annotations.
func removeDefaultAPI(ctx context.Context, c *threescale.Client, _ Options, dryRun bool) ([]report.Action, error) {
	products, err := c.ListProducts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	var p *porta.ProductItem
	for i := range products {
		if products[i].SystemName == DefaultSystemName {
			p = &products[i]
		}
	}
	if p == nil {
		return nil, nil
	}
	name := fmt.Sprintf("%s (id %d)", p.SystemName, p.ID)
	skip := func(reason string) []report.Action {
		return []report.Action{{Verb: report.VerbSkip, Kind: KindProduct, Name: name, Reason: reason}}
	}
	if len(products) == 1 {
		// porta refuses to delete a tenant's last product.
		return skip("it is the tenant's only product, which 3scale keeps; the next run after a model is published removes it"), nil
	}
	untouched, err := productUntouched(ctx, c, p)
	if err != nil {
		return nil, err
	}
	if !untouched {
		return skip(reasonTouched), nil
	}
	usages, err := c.ListBackendUsages(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list backend usages of product %s: %w", name, err)
	}
	var backends []*porta.BackendApiItem
	for _, u := range usages {
		b, err := c.Backend(ctx, u.BackendAPIID)
		if err != nil {
			return nil, fmt.Errorf("read backend %d of product %s: %w", u.BackendAPIID, name, err)
		}
		if b.SystemName != DefaultSystemName || b.UpdatedAt != b.CreatedAt || len(b.Annotations) > 0 {
			return skip(fmt.Sprintf("it uses backend %s (id %d), which is not the untouched default", b.SystemName, b.ID)), nil
		}
		backends = append(backends, b)
	}

	if !dryRun {
		if err := c.DeleteProduct(ctx, p.ID); err != nil {
			return nil, fmt.Errorf("delete default product %s: %w", name, err)
		}
	}
	actions := []report.Action{{Verb: report.VerbDelete, Kind: KindProduct, Name: name}}
	for _, b := range backends {
		bName := fmt.Sprintf("%s (id %d)", b.SystemName, b.ID)
		var err error
		if !dryRun {
			err = c.DeleteBackend(ctx, b.ID)
		}
		switch {
		case errors.Is(err, threescale.ErrForbidden):
			// 3scale refuses while another product uses the backend.
			actions = append(actions, report.Action{Verb: report.VerbSkip, Kind: KindBackend, Name: bName, Reason: "another product uses it"})
		case err != nil:
			return actions, fmt.Errorf("delete default backend %s: %w", bName, err)
		default:
			actions = append(actions, report.Action{Verb: report.VerbDelete, Kind: KindBackend, Name: bName})
		}
	}
	return actions, nil
}

func productUntouched(ctx context.Context, c *threescale.Client, p *porta.ProductItem) (bool, error) {
	if p.Name != "API" || p.Description != "" || len(p.Annotations) > 0 || p.UpdatedAt != p.CreatedAt ||
		p.BackendVersion != "1" || p.DeploymentOption != "hosted" {
		return false, nil
	}
	plans, err := c.ListApplicationPlans(ctx, p.ID)
	if err != nil {
		return false, fmt.Errorf("list application plans of default product %d: %w", p.ID, err)
	}
	if len(plans) > 0 {
		return false, nil
	}
	rules, err := c.ListMappingRules(ctx, p.ID)
	if err != nil {
		return false, fmt.Errorf("list mapping rules of default product %d: %w", p.ID, err)
	}
	return len(rules) == 1 && rules[0].HTTPMethod == "GET" && rules[0].Pattern == "/" && rules[0].Delta == 1, nil
}
