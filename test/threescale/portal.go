package threescalesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ActiveDocs.

func docJSON(d *ActiveDoc) obj {
	o := obj{
		"id": d.ID, "system_name": d.SystemName, "name": d.Name, "description": d.Description,
		"published": d.Published, "skip_swagger_validations": d.SkipSwaggerValidations, "body": d.Body,
		"service_id": nil, "created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt),
	}
	if d.ServiceID != 0 {
		o["service_id"] = d.ServiceID
	}
	return o
}

func (s *Server) docsList(c *call) {
	var items []obj
	for _, d := range sorted(s.st.docs) {
		items = append(items, docJSON(d))
	}
	c.collection("api_docs", "api_doc", items, nil)
}

// applyDoc validates and applies ActiveDoc attributes. A service_id naming no
// accessible product is porta's 422 {"error":"Service not found"}, reported by ok
// false after writing it.
func (s *Server) applyDoc(c *call, d *ActiveDoc, create bool) (fieldErrors, bool) {
	errs := fieldErrors{}
	if v, ok := c.p.str("name"); ok || create {
		if strings.TrimSpace(v) == "" {
			errs.add("name", "can't be blank")
		}
		d.Name = v
	}
	if v, ok := c.p.str("body"); ok || create {
		switch {
		case strings.TrimSpace(v) == "":
			errs.add("body", "can't be blank")
		case !json.Valid([]byte(v)):
			errs.add("body", "Invalid JSON")
		}
		d.Body = v
	}
	d.Description = c.p.def("description", d.Description)
	d.Published = c.p.boolean("published", d.Published)
	d.SkipSwaggerValidations = c.p.boolean("skip_swagger_validations", d.SkipSwaggerValidations)
	if v, ok := c.p.str("service_id"); ok {
		d.ServiceID = 0
		if v != "" {
			sid, _ := strconv.ParseInt(v, 10, 64)
			if s.liveService(sid) == nil {
				c.errorMessage(http.StatusUnprocessableEntity, "Service not found")
				return nil, false
			}
			d.ServiceID = sid
		}
	}
	return errs, true
}

func (s *Server) docsCreate(c *call) {
	if !c.p.hasAny() {
		c.missing("api_docs_service")
		return
	}
	d := &ActiveDoc{CreatedAt: c.now, UpdatedAt: c.now}
	errs, ok := s.applyDoc(c, d, true)
	if !ok {
		return
	}
	d.SystemName = c.p.def("system_name", generateSystemName(d.Name))
	taken := false
	for _, o := range s.st.docs {
		taken = taken || o.SystemName == d.SystemName
	}
	validateSystemName(errs, d.SystemName, taken)
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	d.ID = s.st.id()
	s.st.docs[d.ID] = d
	c.created("api_doc", docJSON(d), fmt.Sprintf("/admin/api/active_docs/%d", d.ID))
}

func (s *Server) docFor(c *call) *ActiveDoc {
	d := s.st.docs[pathID(c.r, "id")]
	if d == nil {
		c.notFound()
	}
	return d
}

func (s *Server) docsRead(c *call) {
	if d := s.docFor(c); d != nil {
		c.entity(http.StatusOK, "api_doc", docJSON(d))
	}
}

func (s *Server) docsUpdate(c *call) {
	d := s.docFor(c)
	if d == nil {
		return
	}
	upd := *d
	errs, ok := s.applyDoc(c, &upd, false)
	if !ok {
		return
	}
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	upd.UpdatedAt = c.now
	*d = upd
	c.entity(http.StatusOK, "api_doc", docJSON(d))
}

func (s *Server) docsDelete(c *call) {
	if d := s.docFor(c); d != nil {
		delete(s.st.docs, d.ID)
		c.deleted()
	}
}

// Developer accounts.

func accountJSON(a *Account) obj {
	return obj{
		"id": a.ID, "created_at": ts(a.CreatedAt), "updated_at": ts(a.UpdatedAt),
		"credit_card_stored": false, "monthly_billing_enabled": true, "monthly_charging_enabled": true,
		"state": a.State, "annotations": annotationsJSON(a.Annotations), "org_name": a.OrgName,
		"links": []obj{link("self", fmt.Sprintf("/admin/api/accounts/%d", a.ID))},
	}
}

func (s *Server) accountsList(c *call) {
	state := c.p.def("state", "")
	var items []obj
	for _, a := range sorted(s.st.accounts) {
		if state == "" || a.State == state {
			items = append(items, accountJSON(a))
		}
	}
	page, meta := paginate(c, items)
	c.collection("accounts", "account", page, meta)
}

func (s *Server) accountsRead(c *call) {
	a := s.st.accounts[pathID(c.r, "id")]
	if a == nil {
		c.notFound()
		return
	}
	c.entity(http.StatusOK, "account", accountJSON(a))
}

// Service subscriptions.

func subJSON(sub *Subscription) obj {
	return obj{
		"id": sub.ID, "plan_id": sub.PlanID, "user_account_id": sub.AccountID, "service_id": sub.ServiceID,
		"state": sub.State, "type": "ServiceContract", "created_at": ts(sub.CreatedAt), "updated_at": ts(sub.UpdatedAt),
		"paid_until": nil, "trial_period_expires_at": nil, "setup_fee": "0.0", "variable_cost_paid_until": nil,
		"accepted_at": ts(sub.CreatedAt),
	}
}

func (s *Server) subAccount(c *call) *Account {
	a := s.st.accounts[pathID(c.r, "aid")]
	if a == nil {
		c.notFound()
	}
	return a
}

func (s *Server) subsList(c *call) {
	a := s.subAccount(c)
	if a == nil {
		return
	}
	var items []obj
	for _, sub := range sorted(s.st.subs) {
		if sub.AccountID == a.ID {
			items = append(items, subJSON(sub))
		}
	}
	c.collection("service_subscriptions", "service_subscription", items, nil)
}

func (s *Server) subsCreate(c *call) {
	a := s.subAccount(c)
	if a == nil {
		return
	}
	v, ok := c.p.str("plan_id")
	if !ok {
		c.missing("plan_id")
		return
	}
	pid, _ := strconv.ParseInt(v, 10, 64)
	p := s.st.plans[pid]
	if p == nil || p.Kind != PlanService || s.liveService(p.ServiceID) == nil {
		c.notFound()
		return
	}
	for _, sub := range s.st.subs {
		if sub.AccountID == a.ID && sub.ServiceID == p.ServiceID {
			c.invalid(fieldErrors{"base": {"already subscribed to this service"}})
			return
		}
	}
	sub := &Subscription{ID: s.st.id(), AccountID: a.ID, PlanID: p.ID, ServiceID: p.ServiceID, State: "live", CreatedAt: c.now, UpdatedAt: c.now}
	if p.ApprovalRequired {
		sub.State = "pending"
	}
	s.st.subs[sub.ID] = sub
	c.created("service_subscription", subJSON(sub), fmt.Sprintf("/admin/api/accounts/%d/service_subscriptions/%d", a.ID, sub.ID))
}

func (s *Server) subFor(c *call) *Subscription {
	a := s.subAccount(c)
	if a == nil {
		return nil
	}
	sub := s.st.subs[pathID(c.r, "id")]
	if sub == nil || sub.AccountID != a.ID {
		c.notFound()
		return nil
	}
	return sub
}

func (s *Server) subsRead(c *call) {
	if sub := s.subFor(c); sub != nil {
		c.entity(http.StatusOK, "service_subscription", subJSON(sub))
	}
}

func (s *Server) subsDelete(c *call) {
	if sub := s.subFor(c); sub != nil {
		delete(s.st.subs, sub.ID)
		c.deleted()
	}
}

// Provider account.

func (s *Server) providerJSON() obj {
	p := s.st.provider
	return obj{
		"id": p.ID, "org_name": p.OrgName, "admin_domain": p.AdminDomain, "domain": p.Domain,
		"from_email": p.FromEmail, "support_email": p.SupportEmail, "finance_support_email": p.FinanceSupportEmail,
		"site_access_code": p.SiteAccessCode, "state": "approved",
	}
}

func (s *Server) providerRead(c *call) { c.entity(http.StatusOK, "account", s.providerJSON()) }

func (s *Server) providerUpdate(c *call) {
	p := &s.st.provider
	p.FromEmail = c.p.def("from_email", p.FromEmail)
	p.SupportEmail = c.p.def("support_email", p.SupportEmail)
	p.FinanceSupportEmail = c.p.def("finance_support_email", p.FinanceSupportEmail)
	p.SiteAccessCode = c.p.def("site_access_code", p.SiteAccessCode)
	c.entity(http.StatusOK, "account", s.providerJSON())
}

// Settings.

var planPermissions = []string{"request", "none", "credit_card", "request_credit_card", "direct"}

func isPermissionSetting(k string) bool { return strings.HasSuffix(k, "_permission") }

func (s *Server) settingsJSON() obj {
	o := obj{}
	for k, v := range s.st.settings {
		if isPermissionSetting(k) {
			o[k] = v
			continue
		}
		o[k] = v == "true"
	}
	return o
}

func (s *Server) settingsRead(c *call) { c.entity(http.StatusOK, "settings", s.settingsJSON()) }

func (s *Server) settingsUpdate(c *call) {
	errs := fieldErrors{}
	upd := map[string]string{}
	for k := range s.st.settings {
		v, ok := c.p.str(k)
		if !ok {
			continue
		}
		switch {
		case isPermissionSetting(k):
			if !slices.Contains(planPermissions, v) {
				errs.add(k, "is not included in the list")
			}
		case k == "enforce_sso" && (v == "true" || v == "1"):
			// The simulator models no admin-portal SSO integration, so enforcing SSO
			// always fails like porta does without a published one (message not
			// verbatim).
			errs.add(k, "cannot be enabled without a published admin portal SSO integration")
		default:
			v = strconv.FormatBool(v == "true" || v == "1")
		}
		upd[k] = v
	}
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	for k, v := range upd {
		s.st.settings[k] = v
	}
	c.entity(http.StatusOK, "settings", s.settingsJSON())
}

// Developer-portal authentication providers.

func (s *Server) authProviderJSON(a *AuthProvider) obj {
	return obj{
		"id": a.ID, "kind": a.Kind, "account_type": "developer", "name": a.Name, "system_name": a.SystemName,
		"client_id": a.ClientID, "client_secret": a.ClientSecret, "site": a.Site, "token_url": a.TokenURL,
		"user_info_url": a.UserInfoURL, "authorize_url": a.AuthorizeURL,
		"skip_ssl_certificate_verification": a.SkipSSLCertificateVerification,
		"automatically_approve_accounts":    a.AutomaticallyApproveAccounts,
		"account_id":                        s.st.provider.ID, "username_key": a.UsernameKey, "identifier_key": a.IdentifierKey,
		"trust_email": a.TrustEmail, "published": a.Published,
		"created_at": ts(a.CreatedAt), "updated_at": ts(a.UpdatedAt),
		"callback_url": fmt.Sprintf("https://%s.%s/auth/%s/callback", s.cfg.Tenant, s.cfg.Domain, a.SystemName),
	}
}

func (s *Server) authProvidersList(c *call) {
	var items []obj
	for _, a := range sorted(s.st.authProviders) {
		items = append(items, s.authProviderJSON(a))
	}
	c.collection("authentication_providers", "authentication_provider", items, nil)
}

// applyAuthProvider applies the attributes update permits and validates the
// result for the provider's kind.
func applyAuthProvider(a *AuthProvider, c *call) fieldErrors {
	a.ClientID = c.p.def("client_id", a.ClientID)
	a.ClientSecret = c.p.def("client_secret", a.ClientSecret)
	a.Site = c.p.def("site", a.Site)
	a.Published = c.p.boolean("published", a.Published)
	a.SkipSSLCertificateVerification = c.p.boolean("skip_ssl_certificate_verification", a.SkipSSLCertificateVerification)
	a.AutomaticallyApproveAccounts = c.p.boolean("automatically_approve_accounts", a.AutomaticallyApproveAccounts)
	errs := fieldErrors{}
	if a.Kind != "keycloak" && a.Kind != "auth0" {
		return errs
	}
	switch u, err := url.Parse(a.Site); {
	case strings.TrimSpace(a.Site) == "":
		errs.add("site", "can't be blank")
	case strings.ContainsAny(a.Site, " \t"):
		errs.add("site", "can't contain whitespaces")
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		errs.add("site", "Invalid URL format")
	}
	for k, v := range map[string]string{"client_id": a.ClientID, "client_secret": a.ClientSecret} {
		if v == "" {
			errs.add(k, "can't be blank")
		}
	}
	return errs
}

func (s *Server) authProvidersCreate(c *call) {
	kind, ok := c.p.str("kind")
	if !ok {
		c.missing("kind")
		return
	}
	if !slices.Contains([]string{"github", "auth0", "keycloak"}, kind) {
		kind = "custom"
	}
	a := &AuthProvider{
		Kind: kind, Name: c.p.def("name", kind),
		SystemName: c.p.def("system_name", kind+"_"+randomHex(6)),
		TokenURL:   c.p.def("token_url", ""), UserInfoURL: c.p.def("user_info_url", ""),
		AuthorizeURL:  c.p.def("authorize_url", ""),
		IdentifierKey: c.p.def("identifier_key", "id"), UsernameKey: c.p.def("username_key", "login"),
		TrustEmail: c.p.boolean("trust_email", false), CreatedAt: c.now, UpdatedAt: c.now,
	}
	errs := applyAuthProvider(a, c)
	for _, o := range s.st.authProviders {
		if o.Kind == kind && kind != "custom" {
			errs.add("kind", "has already been taken")
		}
		if o.SystemName == a.SystemName {
			errs.add("system_name", "has already been taken")
		}
	}
	if len(errs) > 0 {
		c.invalid(errs)
		return
	}
	a.ID = s.st.id()
	s.st.authProviders[a.ID] = a
	c.created("authentication_provider", s.authProviderJSON(a), fmt.Sprintf("/admin/api/authentication_providers/%d", a.ID))
}

func (s *Server) authProviderFor(c *call) *AuthProvider {
	a := s.st.authProviders[pathID(c.r, "id")]
	if a == nil {
		c.notFound()
	}
	return a
}

func (s *Server) authProvidersRead(c *call) {
	if a := s.authProviderFor(c); a != nil {
		c.entity(http.StatusOK, "authentication_provider", s.authProviderJSON(a))
	}
}

func (s *Server) authProvidersUpdate(c *call) {
	a := s.authProviderFor(c)
	if a == nil {
		return
	}
	upd := *a
	if errs := applyAuthProvider(&upd, c); len(errs) > 0 {
		c.invalid(errs)
		return
	}
	upd.UpdatedAt = c.now
	*a = upd
	c.entity(http.StatusOK, "authentication_provider", s.authProviderJSON(a))
}
