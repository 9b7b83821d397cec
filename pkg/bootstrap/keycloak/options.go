package keycloak

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// BasePathMode says where the Keycloak HTTP API is rooted under the base URL.
type BasePathMode string

const (
	// BasePathKeycloak is Keycloak 17 and later: the API is at the root.
	BasePathKeycloak BasePathMode = "keycloak"
	// BasePathRHSSO is Red Hat SSO 7 (and Keycloak 16 or older): the API is under "/auth".
	BasePathRHSSO BasePathMode = "rhsso"
)

const (
	// DefaultRealm is the realm the step manages unless Options.Realm says otherwise.
	DefaultRealm = "maas"
	// DefaultRealmDisplayName is the display name a new realm gets unless
	// Options.RealmDisplayName says otherwise.
	DefaultRealmDisplayName = "Models as a Service"
	// ClientID is the clientId of the client the 3scale developer portal signs in with.
	ClientID = "3scale"
)

// ErrInvalidOptions is wrapped by every error Options.Validate returns.
var ErrInvalidOptions = errors.New("invalid Keycloak bootstrap options")

// AdminCredentials are the credentials the step logs in to the master realm with: either
// Username and Password (password grant through the admin-cli client) or ClientID and
// ClientSecret (client credentials grant of a service account). The caller reads them
// from a Kubernetes Secret.
type AdminCredentials struct {
	Username     string
	Password     string
	ClientID     string
	ClientSecret string
}

func (c AdminCredentials) usesPassword() bool { return c.Username != "" }

// IdentityProvider is an upstream identity provider developers may sign in with.
type IdentityProvider struct {
	// Alias names the provider in the realm, for example "github".
	Alias string
	// ProviderID is the provider type, for example "oidc", "github" or "google".
	ProviderID string
	// ClientID is the client id registered at the upstream provider.
	ClientID string
	// ClientSecret is the client secret registered at the upstream provider; the caller
	// reads it from a Kubernetes Secret.
	ClientSecret string
	// Config holds further provider configuration (authorizationUrl, tokenUrl,
	// defaultScope, ...). It must not set clientId, clientSecret or syncMode, which the
	// step owns.
	Config map[string]string
}

// Options configure the Keycloak step of the bootstrap job.
type Options struct {
	// BaseURL is the root URL of Keycloak, without "/auth", for example "https://sso.example.com".
	BaseURL string
	// BasePath selects the API root under BaseURL (default BasePathKeycloak).
	BasePath BasePathMode
	// Realm is the realm to manage (default DefaultRealm).
	Realm string
	// RealmDisplayName is the display name a new realm gets (default DefaultRealmDisplayName).
	RealmDisplayName string
	// Admin are the master realm credentials.
	Admin AdminCredentials
	// PortalHost is the host (and optional port) of the 3scale developer portal, for
	// example "portal.apps.example.com".
	PortalHost string
	// IdentityProvider, when set, is ensured in the realm.
	IdentityProvider *IdentityProvider
	// DryRun plans: the step reads but writes nothing.
	DryRun bool
	// HTTPClient, when set, is used for every request (custom CAs, proxies, timeouts).
	HTTPClient *http.Client
}

// Default fills the optional fields that are empty.
func (o *Options) Default() {
	if o.BasePath == "" {
		o.BasePath = BasePathKeycloak
	}
	if o.Realm == "" {
		o.Realm = DefaultRealm
	}
	if o.RealmDisplayName == "" {
		o.RealmDisplayName = DefaultRealmDisplayName
	}
}

// ownedIDPConfig are the identity provider config keys the step sets itself.
var ownedIDPConfig = []string{idpClientID, idpClientSecret, idpSyncMode}

// Validate checks defaulted options; every error wraps ErrInvalidOptions and names the
// field. It never includes a secret value.
func (o Options) Validate() error {
	var errs []error
	invalid := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidOptions, field, fmt.Sprintf(format, args...)))
	}

	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		invalid("BaseURL", "%q is not an http(s) URL", o.BaseURL)
	} else if o.BasePath == BasePathRHSSO && strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/auth") {
		invalid("BaseURL", "%q already ends in /auth, which BasePath %q adds", o.BaseURL, o.BasePath)
	}
	if o.BasePath != BasePathKeycloak && o.BasePath != BasePathRHSSO {
		invalid("BasePath", "%q is not %q or %q", o.BasePath, BasePathKeycloak, BasePathRHSSO)
	}
	if o.Realm == "" || strings.Contains(o.Realm, "/") {
		invalid("Realm", "%q is not a realm name", o.Realm)
	}

	a := o.Admin
	switch {
	case a.Username != "" && a.ClientID != "":
		invalid("Admin", "set either Username and Password or ClientID and ClientSecret, not both")
	case a.Username != "" && a.Password == "":
		invalid("Admin.Password", "is empty")
	case a.ClientID != "" && a.ClientSecret == "":
		invalid("Admin.ClientSecret", "is empty")
	case a.Username == "" && a.ClientID == "":
		invalid("Admin", "set Username and Password or ClientID and ClientSecret")
	}

	if u, err := url.Parse("https://" + o.PortalHost); o.PortalHost == "" || err != nil || u.Host != o.PortalHost {
		invalid("PortalHost", "%q is not a host name", o.PortalHost)
	}

	if idp := o.IdentityProvider; idp != nil {
		required := []struct{ field, value string }{
			{"Alias", idp.Alias}, {"ProviderID", idp.ProviderID}, {"ClientID", idp.ClientID}, {"ClientSecret", idp.ClientSecret},
		}
		for _, r := range required {
			if r.value == "" {
				invalid("IdentityProvider."+r.field, "is empty")
			}
		}
		for _, key := range ownedIDPConfig {
			if _, set := idp.Config[key]; set {
				invalid("IdentityProvider.Config", "must not set %q", key)
			}
		}
	}
	return errors.Join(errs...)
}

// apiURL is the URL gocloak is built with: the base URL plus "/auth" for Red Hat SSO.
func (o Options) apiURL() string {
	base := strings.TrimRight(o.BaseURL, "/")
	if o.BasePath == BasePathRHSSO {
		return base + "/auth"
	}
	return base
}

// RealmURL is the realm's URL, as the 3scale developer portal's SSO integration wants it.
func (o Options) RealmURL() string { return o.apiURL() + "/realms/" + o.Realm }

// redirectURI is the developer portal's callback; query parameters may follow it.
func (o Options) redirectURI() string {
	return "https://" + o.PortalHost + "/auth/keycloak/callback*"
}
