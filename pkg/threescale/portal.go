package threescale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	porta "github.com/3scale/3scale-porta-go-client/client"
)

// ServicePlan is a product's service plan (porta-go-client has no type for it).
type ServicePlan struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	State            string `json:"state"`
	ApprovalRequired bool   `json:"approval_required"`
	Default          bool   `json:"default"`
}

// ServiceSubscription is a developer account's subscription to a product.
type ServiceSubscription struct {
	ID        int64  `json:"id"`
	PlanID    int64  `json:"plan_id"`
	AccountID int64  `json:"user_account_id"`
	ServiceID int64  `json:"service_id"`
	State     string `json:"state"`
}

// ProviderAccount is the tenant's own account.
type ProviderAccount struct {
	ID                  int64  `json:"id"`
	OrgName             string `json:"org_name"`
	AdminDomain         string `json:"admin_domain"`
	Domain              string `json:"domain"`
	FromEmail           string `json:"from_email"`
	SupportEmail        string `json:"support_email"`
	FinanceSupportEmail string `json:"finance_support_email"`
	// SiteAccessCode is the developer portal's access code; empty means open.
	SiteAccessCode string `json:"site_access_code"`
}

// Settings are the tenant settings the developer-portal listing depends on.
type Settings struct {
	UserAccountAreaEnabled      bool   `json:"useraccountarea_enabled"`
	HideService                 bool   `json:"hide_service"`
	SignupsEnabled              bool   `json:"signups_enabled"`
	AccountApprovalRequired     bool   `json:"account_approval_required"`
	PublicSearch                bool   `json:"public_search"`
	AccountPlansUIVisible       bool   `json:"account_plans_ui_visible"`
	ChangeAccountPlanPermission string `json:"change_account_plan_permission"`
	ServicePlansUIVisible       bool   `json:"service_plans_ui_visible"`
	ChangeServicePlanPermission string `json:"change_service_plan_permission"`
	EnforceSSO                  bool   `json:"enforce_sso"`
}

// AuthenticationProvider is a developer-portal SSO integration (e.g. kind
// keycloak).
type AuthenticationProvider struct {
	ID                             int64  `json:"id"`
	Kind                           string `json:"kind"`
	Name                           string `json:"name"`
	SystemName                     string `json:"system_name"`
	ClientID                       string `json:"client_id"`
	ClientSecret                   string `json:"client_secret"`
	Site                           string `json:"site"`
	Published                      bool   `json:"published"`
	TrustEmail                     bool   `json:"trust_email"`
	SkipSSLCertificateVerification bool   `json:"skip_ssl_certificate_verification"`
	AutomaticallyApproveAccounts   bool   `json:"automatically_approve_accounts"`
	CallbackURL                    string `json:"callback_url"`
}

// callJSON is the thin call for endpoints porta-go-client lacks: same base URL,
// HTTP path (limiter, retries, metrics) and Basic auth; form body, JSON response.
func (c *Client) callJSON(ctx context.Context, op, object, method, path string, params porta.Params, want int, out any) error {
	return c.run(ctx, op, object, func(hc *http.Client) error {
		var body io.Reader
		if params != nil {
			form := url.Values{}
			for k, v := range params {
				form.Set(k, v)
			}
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, strings.TrimSuffix(c.opts.AdminURL, "/")+path, body)
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.SetBasicAuth("", c.token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("unexpected status %d", resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
		return nil
	})
}

// ListDeveloperAccounts lists every developer account (all pages of 500).
func (c *Client) ListDeveloperAccounts(ctx context.Context) ([]porta.DeveloperAccountItem, error) {
	var out []porta.DeveloperAccountItem
	err := c.callPorta(ctx, "ListDeveloperAccounts", "developer accounts", func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListDeveloperAccounts()
		if err != nil {
			return err
		}
		for _, a := range l.Items {
			out = append(out, a.Element)
		}
		return nil
	})
	return out, err
}

// ListServicePlans lists a product's service plans.
func (c *Client) ListServicePlans(ctx context.Context, productID int64) ([]ServicePlan, error) {
	var l struct {
		Plans []struct {
			Plan ServicePlan `json:"service_plan"`
		} `json:"plans"`
	}
	err := c.callJSON(ctx, "ListServicePlans", productObj(productID), http.MethodGet,
		fmt.Sprintf("/admin/api/services/%d/service_plans.json", productID), nil, http.StatusOK, &l)
	if err != nil {
		return nil, err
	}
	out := make([]ServicePlan, 0, len(l.Plans))
	for _, p := range l.Plans {
		out = append(out, p.Plan)
	}
	return out, nil
}

// SetDefaultServicePlan makes a service plan the product's default, which is
// what lists the product in the developer portal.
func (c *Client) SetDefaultServicePlan(ctx context.Context, productID, planID int64) (*ServicePlan, error) {
	var w struct {
		Plan ServicePlan `json:"service_plan"`
	}
	err := c.callJSON(ctx, "SetDefaultServicePlan", fmt.Sprintf("product %d service plan %d", productID, planID), http.MethodPut,
		fmt.Sprintf("/admin/api/services/%d/service_plans/%d/default.json", productID, planID), porta.Params{}, http.StatusOK, &w)
	if err != nil {
		return nil, err
	}
	return &w.Plan, nil
}

// ListServiceSubscriptions lists a developer account's service subscriptions.
func (c *Client) ListServiceSubscriptions(ctx context.Context, accountID int64) ([]ServiceSubscription, error) {
	var l struct {
		Subs []struct {
			Sub ServiceSubscription `json:"service_subscription"`
		} `json:"service_subscriptions"`
	}
	err := c.callJSON(ctx, "ListServiceSubscriptions", fmt.Sprintf("account %d", accountID), http.MethodGet,
		fmt.Sprintf("/admin/api/accounts/%d/service_subscriptions.json", accountID), nil, http.StatusOK, &l)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceSubscription, 0, len(l.Subs))
	for _, s := range l.Subs {
		out = append(out, s.Sub)
	}
	return out, nil
}

// CreateServiceSubscription subscribes a developer account to a product through
// one of its service plans. An account already subscribed to the product gets an
// error matching ErrAlreadySubscribed (and ErrConflict).
func (c *Client) CreateServiceSubscription(ctx context.Context, accountID, servicePlanID int64) (*ServiceSubscription, error) {
	var w struct {
		Sub ServiceSubscription `json:"service_subscription"`
	}
	err := c.callJSON(ctx, "CreateServiceSubscription", fmt.Sprintf("account %d service plan %d", accountID, servicePlanID), http.MethodPost,
		fmt.Sprintf("/admin/api/accounts/%d/service_subscriptions.json", accountID),
		porta.Params{"plan_id": fmt.Sprint(servicePlanID)}, http.StatusCreated, &w)
	if err != nil {
		return nil, err
	}
	return &w.Sub, nil
}

// ProviderAccount reads the tenant's account.
func (c *Client) ProviderAccount(ctx context.Context) (*ProviderAccount, error) {
	return c.providerCall(ctx, "ReadProviderAccount", http.MethodGet, nil)
}

// UpdateProviderAccount updates the tenant's account (from_email, support_email,
// finance_support_email, site_access_code; an empty site_access_code opens the
// developer portal).
func (c *Client) UpdateProviderAccount(ctx context.Context, params porta.Params) (*ProviderAccount, error) {
	return c.providerCall(ctx, "UpdateProviderAccount", http.MethodPut, params)
}

func (c *Client) providerCall(ctx context.Context, op, method string, params porta.Params) (*ProviderAccount, error) {
	var w struct {
		Account ProviderAccount `json:"account"`
	}
	if err := c.callJSON(ctx, op, "provider account", method, "/admin/api/provider.json", params, http.StatusOK, &w); err != nil {
		return nil, err
	}
	return &w.Account, nil
}

// Settings reads the tenant settings.
func (c *Client) Settings(ctx context.Context) (*Settings, error) {
	return c.settingsCall(ctx, "ReadSettings", http.MethodGet, nil)
}

// UpdateSettings updates tenant settings (keys as in Settings' JSON tags).
func (c *Client) UpdateSettings(ctx context.Context, params porta.Params) (*Settings, error) {
	return c.settingsCall(ctx, "UpdateSettings", http.MethodPut, params)
}

func (c *Client) settingsCall(ctx context.Context, op, method string, params porta.Params) (*Settings, error) {
	var w struct {
		Settings Settings `json:"settings"`
	}
	if err := c.callJSON(ctx, op, "settings", method, "/admin/api/settings.json", params, http.StatusOK, &w); err != nil {
		return nil, err
	}
	return &w.Settings, nil
}

// ListAuthenticationProviders lists the developer-portal SSO integrations.
func (c *Client) ListAuthenticationProviders(ctx context.Context) ([]AuthenticationProvider, error) {
	var l struct {
		Items []struct {
			AP AuthenticationProvider `json:"authentication_provider"`
		} `json:"authentication_providers"`
	}
	err := c.callJSON(ctx, "ListAuthenticationProviders", "authentication providers", http.MethodGet,
		"/admin/api/authentication_providers.json", nil, http.StatusOK, &l)
	if err != nil {
		return nil, err
	}
	out := make([]AuthenticationProvider, 0, len(l.Items))
	for _, it := range l.Items {
		out = append(out, it.AP)
	}
	return out, nil
}

// CreateAuthenticationProvider creates a developer-portal SSO integration (kind,
// name, system_name, client_id, client_secret, site, published,
// automatically_approve_accounts, trust_email, ...). A second one of the same kind
// is an error matching ErrConflict.
func (c *Client) CreateAuthenticationProvider(ctx context.Context, params porta.Params) (*AuthenticationProvider, error) {
	return c.authProviderCall(ctx, "CreateAuthenticationProvider", fmt.Sprintf("authentication provider %q", params["kind"]),
		http.MethodPost, "/admin/api/authentication_providers.json", params, http.StatusCreated)
}

// UpdateAuthenticationProvider updates an SSO integration (client_id,
// client_secret, site, published, skip_ssl_certificate_verification,
// automatically_approve_accounts).
func (c *Client) UpdateAuthenticationProvider(ctx context.Context, id int64, params porta.Params) (*AuthenticationProvider, error) {
	return c.authProviderCall(ctx, "UpdateAuthenticationProvider", fmt.Sprintf("authentication provider %d", id),
		http.MethodPut, fmt.Sprintf("/admin/api/authentication_providers/%d.json", id), params, http.StatusOK)
}

func (c *Client) authProviderCall(ctx context.Context, op, obj, method, path string, params porta.Params, want int) (*AuthenticationProvider, error) {
	var w struct {
		AP AuthenticationProvider `json:"authentication_provider"`
	}
	if err := c.callJSON(ctx, op, obj, method, path, params, want, &w); err != nil {
		return nil, err
	}
	return &w.AP, nil
}

// ListActiveDocs lists the ActiveDocs (OpenAPI documents).
func (c *Client) ListActiveDocs(ctx context.Context) ([]porta.ActiveDocItem, error) {
	var out []porta.ActiveDocItem
	err := c.callPorta(ctx, "ListActiveDocs", "active docs", func(pc *porta.ThreeScaleClient) error {
		l, err := pc.ListActiveDocs()
		if err != nil {
			return err
		}
		for _, d := range l.ActiveDocs {
			out = append(out, d.Element)
		}
		return nil
	})
	return out, err
}

func activeDocObj(d porta.ActiveDocItem) string {
	switch {
	case d.ID != nil:
		return fmt.Sprintf("active doc %d", *d.ID)
	case d.SystemName != nil:
		return fmt.Sprintf("active doc %q", *d.SystemName)
	case d.Name != nil:
		return fmt.Sprintf("active doc %q", *d.Name)
	}
	return "active doc"
}

// CreateActiveDoc creates an ActiveDoc (name and body required; system_name,
// description, published, skip_swagger_validations, service_id optional).
func (c *Client) CreateActiveDoc(ctx context.Context, doc porta.ActiveDocItem) (*porta.ActiveDocItem, error) {
	var out *porta.ActiveDoc
	err := c.callPorta(ctx, "CreateActiveDoc", activeDocObj(doc), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.CreateActiveDoc(&porta.ActiveDoc{Element: doc})
		return err
	})
	return elem(out, err, func(d *porta.ActiveDoc) *porta.ActiveDocItem { return &d.Element })
}

// UpdateActiveDoc updates an ActiveDoc; doc.ID is required and nil fields are left
// unchanged.
func (c *Client) UpdateActiveDoc(ctx context.Context, doc porta.ActiveDocItem) (*porta.ActiveDocItem, error) {
	if doc.ID == nil {
		return nil, &Error{Op: "UpdateActiveDoc", Object: activeDocObj(doc), Err: errors.New("missing id")}
	}
	var out *porta.ActiveDoc
	err := c.callPorta(ctx, "UpdateActiveDoc", activeDocObj(doc), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateActiveDoc(&porta.ActiveDoc{Element: doc})
		return err
	})
	return elem(out, err, func(d *porta.ActiveDoc) *porta.ActiveDocItem { return &d.Element })
}

// DeleteActiveDoc deletes an ActiveDoc.
func (c *Client) DeleteActiveDoc(ctx context.Context, id int64) error {
	return c.callPorta(ctx, "DeleteActiveDoc", fmt.Sprintf("active doc %d", id), func(pc *porta.ThreeScaleClient) error {
		return pc.DeleteActiveDoc(id)
	})
}
