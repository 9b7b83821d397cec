package keycloak

import (
	"maps"
	"slices"

	"github.com/Nerzal/gocloak/v13"
)

const (
	protocolOIDC = "openid-connect"

	idpClientID     = "clientId"
	idpClientSecret = "clientSecret"
	idpSyncMode     = "syncMode"
	// syncModeImport imports a user on first sign-in and leaves later edits in Keycloak alone.
	syncModeImport = "IMPORT"
)

// clientAttributes turn off the grants the portal does not use beyond the standard flow.
var clientAttributes = map[string]string{
	"oauth2.device.authorization.grant.enabled": "false",
	"oidc.ciba.grant.enabled":                   "false",
}

// desiredClient is the portal's client: confidential, standard flow only, redirected to
// the developer portal's Keycloak callback.
func (o Options) desiredClient() gocloak.Client {
	attrs := maps.Clone(clientAttributes)
	return gocloak.Client{
		ClientID:                  gocloak.StringP(ClientID),
		Protocol:                  gocloak.StringP(protocolOIDC),
		Enabled:                   gocloak.BoolP(true),
		PublicClient:              gocloak.BoolP(false),
		BearerOnly:                gocloak.BoolP(false),
		ClientAuthenticatorType:   gocloak.StringP("client-secret"),
		StandardFlowEnabled:       gocloak.BoolP(true),
		ImplicitFlowEnabled:       gocloak.BoolP(false),
		DirectAccessGrantsEnabled: gocloak.BoolP(false),
		ServiceAccountsEnabled:    gocloak.BoolP(false),
		RedirectURIs:              &[]string{o.redirectURI()},
		Attributes:                &attrs,
	}
}

// clientDrift returns the fields of got that differ from want, in a stable order.
// Redirect URIs are compared as a set, as Keycloak stores them; attributes only on the
// keys want sets.
func clientDrift(want, got gocloak.Client) []string {
	var fields []string
	check := func(field string, same bool) {
		if !same {
			fields = append(fields, field)
		}
	}
	check("protocol", gocloak.PString(want.Protocol) == gocloak.PString(got.Protocol))
	check("enabled", gocloak.PBool(want.Enabled) == gocloak.PBool(got.Enabled))
	check("publicClient", gocloak.PBool(want.PublicClient) == gocloak.PBool(got.PublicClient))
	check("bearerOnly", gocloak.PBool(want.BearerOnly) == gocloak.PBool(got.BearerOnly))
	check("clientAuthenticatorType", gocloak.PString(want.ClientAuthenticatorType) == gocloak.PString(got.ClientAuthenticatorType))
	check("standardFlowEnabled", gocloak.PBool(want.StandardFlowEnabled) == gocloak.PBool(got.StandardFlowEnabled))
	check("implicitFlowEnabled", gocloak.PBool(want.ImplicitFlowEnabled) == gocloak.PBool(got.ImplicitFlowEnabled))
	check("directAccessGrantsEnabled", gocloak.PBool(want.DirectAccessGrantsEnabled) == gocloak.PBool(got.DirectAccessGrantsEnabled))
	check("serviceAccountsEnabled", gocloak.PBool(want.ServiceAccountsEnabled) == gocloak.PBool(got.ServiceAccountsEnabled))
	check("redirectUris", sameSet(gocloak.PStringSlice(want.RedirectURIs), gocloak.PStringSlice(got.RedirectURIs)))
	for _, key := range configDrift(deref(want.Attributes), deref(got.Attributes)) {
		fields = append(fields, "attributes."+key)
	}
	return fields
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func deref(m *map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	return *m
}

// configDrift returns, sorted, the keys of want whose value in got differs.
func configDrift(want, got map[string]string) []string {
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, has := got[k]; !has || v != want[k] {
			keys = append(keys, k)
		}
	}
	return keys
}

// mergedConfig is got with want's keys set.
func mergedConfig(got *map[string]string, want map[string]string) *map[string]string {
	out := maps.Clone(deref(got))
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, want)
	return &out
}

// desiredMappers are the client's protocol mappers: Keycloak's built-in "email verified"
// mapper, and "org_name", which the 3scale developer portal reads from userinfo to name
// a new developer account (filled from the email address).
func desiredMappers() []gocloak.ProtocolMapperRepresentation {
	mapper := func(name, mapperType string, config map[string]string) gocloak.ProtocolMapperRepresentation {
		config["id.token.claim"] = "true"
		config["access.token.claim"] = "true"
		config["userinfo.token.claim"] = "true"
		return gocloak.ProtocolMapperRepresentation{
			Name:            gocloak.StringP(name),
			Protocol:        gocloak.StringP(protocolOIDC),
			ProtocolMapper:  gocloak.StringP(mapperType),
			ConsentRequired: gocloak.BoolP(false),
			Config:          &config,
		}
	}
	return []gocloak.ProtocolMapperRepresentation{
		mapper("email verified", "oidc-usermodel-property-mapper", map[string]string{
			"user.attribute": "emailVerified",
			"claim.name":     "email_verified",
			"jsonType.label": "boolean",
		}),
		mapper("org_name", "oidc-usermodel-attribute-mapper", map[string]string{
			"user.attribute":  "email",
			"claim.name":      "org_name",
			"jsonType.label":  "String",
			"multivalued":     "false",
			"aggregate.attrs": "false",
		}),
	}
}

func findMapper(mappers []gocloak.ProtocolMapperRepresentation, name string) *gocloak.ProtocolMapperRepresentation {
	for i := range mappers {
		if gocloak.PString(mappers[i].Name) == name {
			return &mappers[i]
		}
	}
	return nil
}

// mapperDrift returns the drifted fields of a mapper: its type, and the config keys the
// step sets (Keycloak adds keys of its own, such as introspection.token.claim).
func mapperDrift(want, got gocloak.ProtocolMapperRepresentation) []string {
	var fields []string
	if gocloak.PString(want.ProtocolMapper) != gocloak.PString(got.ProtocolMapper) {
		fields = append(fields, "protocolMapper")
	}
	for _, key := range configDrift(deref(want.Config), deref(got.Config)) {
		fields = append(fields, "config."+key)
	}
	return fields
}

// identityProviderConfig is the config the step sets on the identity provider, without
// the client secret, which Keycloak masks on read and so cannot be compared.
func identityProviderConfig(idp IdentityProvider) map[string]string {
	cfg := maps.Clone(idp.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	cfg[idpClientID] = idp.ClientID
	cfg[idpSyncMode] = syncModeImport
	return cfg
}

// desiredIdentityProvider is the identity provider to create: enabled, trusting the
// upstream's verified emails, importing users.
func desiredIdentityProvider(idp IdentityProvider) gocloak.IdentityProviderRepresentation {
	cfg := identityProviderConfig(idp)
	cfg[idpClientSecret] = idp.ClientSecret
	return gocloak.IdentityProviderRepresentation{
		Alias:      gocloak.StringP(idp.Alias),
		ProviderID: gocloak.StringP(idp.ProviderID),
		Enabled:    gocloak.BoolP(true),
		TrustEmail: gocloak.BoolP(true),
		Config:     &cfg,
	}
}

// identityProviderDrift returns the drifted fields of the identity provider as read.
func identityProviderDrift(idp IdentityProvider, got map[string]any) []string {
	var fields []string
	for _, key := range []string{"enabled", "trustEmail"} {
		if v, _ := got[key].(bool); !v {
			fields = append(fields, key)
		}
	}
	for _, key := range configDrift(identityProviderConfig(idp), stringMap(got["config"])) {
		fields = append(fields, "config."+key)
	}
	return fields
}

// updatedIdentityProvider is the representation to write back: what was read, with the
// step's fields set. It carries the real client secret (the stored one may be stale);
// only an update that is needed for another reason writes it.
func updatedIdentityProvider(idp IdentityProvider, got map[string]any) map[string]any {
	out := maps.Clone(got)
	out["enabled"] = true
	out["trustEmail"] = true
	cfg := map[string]any{}
	if old, isMap := got["config"].(map[string]any); isMap {
		maps.Copy(cfg, old)
	}
	for k, v := range identityProviderConfig(idp) {
		cfg[k] = v
	}
	cfg[idpClientSecret] = idp.ClientSecret
	out["config"] = cfg
	return out
}

// stringMap returns the string values of a JSON object.
func stringMap(v any) map[string]string {
	obj, _ := v.(map[string]any)
	out := make(map[string]string, len(obj))
	for k, val := range obj {
		if s, isString := val.(string); isString {
			out[k] = s
		}
	}
	return out
}
