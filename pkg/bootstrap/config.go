package bootstrap

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/certmanager"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
)

// Defaults of the configuration file.
const (
	// DefaultClientSecretName is the Secret the Keycloak client's credentials are stored in.
	DefaultClientSecretName = "maas-sso-client"
	// DefaultSSOName is the name of the developer portal's SSO integration.
	DefaultSSOName = "Keycloak"
	// DefaultAPIManagerName is the APIManager's name.
	DefaultAPIManagerName = "apimanager"
	// DefaultTenantName is the APIManager's tenant, as the 3scale operator defaults it.
	DefaultTenantName = "3scale"
	// DefaultPolicyName and DefaultPolicyVersion identify the custom token policy.
	DefaultPolicyName = "llm-metrics"
	// DefaultPolicyVersion is the custom token policy's version.
	DefaultPolicyVersion = "0.1"
	// DefaultPolicySummary is the token policy schema's summary.
	DefaultPolicySummary = "Counts the tokens of LLM responses into 3scale metrics"
	// DefaultAvailableTimeout bounds the wait for the APIManager.
	DefaultAvailableTimeout = 20 * time.Minute
	// DefaultPollInterval is how often the APIManager is polled (and progress printed).
	DefaultPollInterval = 10 * time.Second
	// DefaultServiceName is the webhook Service.
	DefaultServiceName = "maas-webhook"
	// SystemSeedSecret and SystemSeedTokenKey are where the 3scale operator stores the
	// tenant's admin access token.
	SystemSeedSecret = "system-seed"
	// SystemSeedTokenKey is the key of the tenant's admin access token in SystemSeedSecret.
	SystemSeedTokenKey = "ADMIN_ACCESS_TOKEN"
)

// Keycloak admin grants.
const (
	// GrantPassword logs in with a user name and password (the admin-cli client).
	GrantPassword = "password"
	// GrantClientCredentials logs in as a service account's client.
	GrantClientCredentials = "client_credentials"
)

// Config is the bootstrap job's configuration file. Secrets are never in it, only
// references to Kubernetes Secrets.
type Config struct {
	// Namespace holds the Secrets the job reads and writes and the webhook's
	// Certificate.
	Namespace string `json:"namespace"`
	// Keycloak configures the SSO realm.
	Keycloak Keycloak `json:"keycloak"`
	// ThreeScale configures the 3scale tenant.
	ThreeScale ThreeScale `json:"threescale"`
	// Operator, when set, makes the job manage the 3scale operator's objects.
	Operator *Operator `json:"operator,omitempty"`
	// CertManager, when set, makes the job issue the webhook's certificate with
	// cert-manager (skipped when cert-manager is not installed).
	CertManager *CertManager `json:"certManager,omitempty"`
}

// SecretKeyRef is one key of a Secret in the configuration's namespace.
type SecretKeyRef struct {
	// Name is the Secret's name.
	Name string `json:"name"`
	// Key is the key in the Secret's data.
	Key string `json:"key"`
}

// Keycloak configures the Keycloak step.
type Keycloak struct {
	// URL is Keycloak's root URL, without "/auth".
	URL string `json:"url"`
	// BasePath is "keycloak" (17 and later, the default) or "rhsso" (API under /auth).
	BasePath keycloak.BasePathMode `json:"basePath,omitempty"`
	// Realm is the realm to manage (default "maas").
	Realm string `json:"realm,omitempty"`
	// RealmDisplayName is a new realm's display name.
	RealmDisplayName string `json:"realmDisplayName,omitempty"`
	// AdminSecret holds the master realm credentials.
	AdminSecret AdminSecret `json:"adminSecret"`
	// ClientSecretName is the Secret the job stores CLIENT_ID, CLIENT_SECRET and
	// REALM_URL of the portal's client in (default DefaultClientSecretName).
	ClientSecretName string `json:"clientSecretName,omitempty"`
	// IdentityProvider, when set, is ensured in the realm.
	IdentityProvider *IdentityProvider `json:"identityProvider,omitempty"`
}

// AdminSecret is the Secret with Keycloak's master realm credentials.
type AdminSecret struct {
	// Name is the Secret's name.
	Name string `json:"name"`
	// Grant is GrantPassword (default) or GrantClientCredentials.
	Grant string `json:"grant,omitempty"`
	// IDKey is the key of the user name (default "username") or client id (default
	// "clientId").
	IDKey string `json:"idKey,omitempty"`
	// SecretKey is the key of the password (default "password") or client secret
	// (default "clientSecret").
	SecretKey string `json:"secretKey,omitempty"`
}

// IdentityProvider is the optional upstream identity provider.
type IdentityProvider struct {
	// Alias names the provider in the realm.
	Alias string `json:"alias"`
	// ProviderID is the provider type ("oidc", "github", ...).
	ProviderID string `json:"providerID"`
	// ClientID is the client id registered at the upstream provider.
	ClientID string `json:"clientID"`
	// ClientSecret is the Secret key holding the upstream client secret.
	ClientSecret SecretKeyRef `json:"clientSecret"`
	// Config holds further provider configuration.
	Config map[string]string `json:"config,omitempty"`
}

// ThreeScale configures the tenant step.
type ThreeScale struct {
	// AdminURL is the tenant's admin portal (default https://<tenant>-admin.<wildcardDomain>
	// when the job manages the APIManager).
	AdminURL string `json:"adminURL,omitempty"`
	// PortalHost is the developer portal's host (default <tenant>.<wildcardDomain> when
	// the job manages the APIManager).
	PortalHost string `json:"portalHost,omitempty"`
	// AccessTokenSecret holds the tenant's admin access token (default: the 3scale
	// operator's system-seed Secret, key ADMIN_ACCESS_TOKEN, in the operator's
	// namespace).
	AccessTokenSecret *SecretKeyRef `json:"accessTokenSecret,omitempty"`
	// SSOName is the SSO integration's name on the portal (default DefaultSSOName).
	SSOName string `json:"ssoName,omitempty"`
	// RemoveDefaultAPI deletes the tenant's default "API" product and backend when
	// they are untouched.
	RemoveDefaultAPI bool `json:"removeDefaultAPI,omitempty"`
}

// Operator configures the 3scale operator objects.
type Operator struct {
	// Namespace holds the APIManager, the CustomPolicyDefinition and the operator's
	// system-seed Secret (default: the configuration's namespace).
	Namespace string `json:"namespace,omitempty"`
	// APIManager is the 3scale installation.
	APIManager APIManager `json:"apiManager"`
	// Policy is the custom token policy.
	Policy Policy `json:"policy"`
	// AvailableTimeout bounds the wait for the APIManager to become Available
	// (default 20m).
	AvailableTimeout metav1.Duration `json:"availableTimeout,omitempty"`
	// PollInterval is how often the APIManager is polled, with a progress line each
	// time (default 10s).
	PollInterval metav1.Duration `json:"pollInterval,omitempty"`
}

// APIManager is the desired 3scale installation.
type APIManager struct {
	// Name is the object's name (default DefaultAPIManagerName).
	Name string `json:"name,omitempty"`
	// WildcardDomain is the domain of the tenant's routes.
	WildcardDomain string `json:"wildcardDomain"`
	// TenantName is the tenant (default DefaultTenantName).
	TenantName string `json:"tenantName,omitempty"`
	// FileStorageClass is the storage class of system's file storage claim.
	FileStorageClass string `json:"fileStorageClass,omitempty"`
}

// Policy is the custom token policy.
type Policy struct {
	// Name is the policy's (and CustomPolicyDefinition's) name (default DefaultPolicyName).
	Name string `json:"name,omitempty"`
	// Version is the policy's version (default DefaultPolicyVersion).
	Version string `json:"version,omitempty"`
	// SecretName is the Secret with the policy's code that the gateways load.
	SecretName string `json:"secretName"`
	// Summary is the schema's summary (default DefaultPolicySummary).
	Summary string `json:"summary,omitempty"`
	// Description are the schema's description paragraphs.
	Description []string `json:"description,omitempty"`
	// Configuration is the JSON schema of the policy's configuration (default an
	// object schema without properties).
	Configuration map[string]any `json:"configuration,omitempty"`
}

// CertManager configures the webhook's certificate.
type CertManager struct {
	// ServiceName is the webhook Service (default DefaultServiceName).
	ServiceName string `json:"serviceName,omitempty"`
	// SecretName is the Secret the Certificate writes (default maas-webhook-tls).
	SecretName string `json:"secretName,omitempty"`
	// IssuerRef names the issuer; when absent the job creates a self-signed Issuer.
	IssuerRef *cmmeta.IssuerReference `json:"issuerRef,omitempty"`
}

// LoadConfig reads and parses a configuration file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read bootstrap configuration: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("bootstrap configuration %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes YAML (or JSON) strictly and case-sensitively, fills the
// defaults and validates; validation errors name the field path.
func ParseConfig(data []byte) (Config, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Config{}, fmt.Errorf("decoding: %w", err)
	}
	var c Config
	// sigs.k8s.io/json matches field names case-sensitively, unlike encoding/json.
	strictErrs, err := kjson.UnmarshalStrict(js, &c, kjson.DisallowUnknownFields)
	if err != nil {
		return Config{}, fmt.Errorf("decoding: %w", err)
	}
	if err := errors.Join(strictErrs...); err != nil {
		return Config{}, fmt.Errorf("decoding: %w", err)
	}
	c.Default()
	if err := c.Validate().ToAggregate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func defaultString(v *string, d string) {
	if *v == "" {
		*v = d
	}
}

func defaultDuration(v *metav1.Duration, d time.Duration) {
	if v.Duration == 0 {
		v.Duration = d
	}
}

// Default fills the optional fields that are empty.
func (c *Config) Default() {
	kc := &c.Keycloak
	defaultString(&kc.ClientSecretName, DefaultClientSecretName)
	a := &kc.AdminSecret
	defaultString(&a.Grant, GrantPassword)
	if a.Grant == GrantClientCredentials {
		defaultString(&a.IDKey, "clientId")
		defaultString(&a.SecretKey, "clientSecret")
	} else {
		defaultString(&a.IDKey, "username")
		defaultString(&a.SecretKey, "password")
	}
	defaultString(&c.ThreeScale.SSOName, DefaultSSOName)
	if op := c.Operator; op != nil {
		defaultString(&op.Namespace, c.Namespace)
		defaultString(&op.APIManager.Name, DefaultAPIManagerName)
		defaultString(&op.APIManager.TenantName, DefaultTenantName)
		defaultString(&op.Policy.Name, DefaultPolicyName)
		defaultString(&op.Policy.Version, DefaultPolicyVersion)
		defaultString(&op.Policy.Summary, DefaultPolicySummary)
		if op.Policy.Configuration == nil {
			op.Policy.Configuration = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		defaultDuration(&op.AvailableTimeout, DefaultAvailableTimeout)
		defaultDuration(&op.PollInterval, DefaultPollInterval)
		if wd := op.APIManager.WildcardDomain; wd != "" {
			defaultString(&c.ThreeScale.AdminURL, "https://"+op.APIManager.TenantName+"-admin."+wd)
			defaultString(&c.ThreeScale.PortalHost, op.APIManager.TenantName+"."+wd)
		}
	}
	if cm := c.CertManager; cm != nil {
		defaultString(&cm.ServiceName, DefaultServiceName)
		defaultString(&cm.SecretName, certmanager.DefaultSecretName)
	}
}

// Validate checks a defaulted configuration.
func (c Config) Validate() field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateName(field.NewPath("namespace"), c.Namespace, validation.IsDNS1123Label)...)

	kp := field.NewPath("keycloak")
	kc := c.Keycloak
	errs = append(errs, validateURL(kp.Child("url"), kc.URL)...)
	if kc.BasePath != "" && kc.BasePath != keycloak.BasePathKeycloak && kc.BasePath != keycloak.BasePathRHSSO {
		errs = append(errs, field.NotSupported(kp.Child("basePath"), kc.BasePath, []keycloak.BasePathMode{keycloak.BasePathKeycloak, keycloak.BasePathRHSSO}))
	}
	ap := kp.Child("adminSecret")
	errs = append(errs, validateName(ap.Child("name"), kc.AdminSecret.Name, validation.IsDNS1123Subdomain)...)
	if g := kc.AdminSecret.Grant; g != GrantPassword && g != GrantClientCredentials {
		errs = append(errs, field.NotSupported(ap.Child("grant"), g, []string{GrantPassword, GrantClientCredentials}))
	}
	errs = append(errs, validateName(kp.Child("clientSecretName"), kc.ClientSecretName, validation.IsDNS1123Subdomain)...)
	if idp := kc.IdentityProvider; idp != nil {
		ip := kp.Child("identityProvider")
		for _, f := range []struct{ name, value string }{{"alias", idp.Alias}, {"providerID", idp.ProviderID}, {"clientID", idp.ClientID}} {
			if f.value == "" {
				errs = append(errs, field.Required(ip.Child(f.name), ""))
			}
		}
		errs = append(errs, validateSecretKeyRef(ip.Child("clientSecret"), &idp.ClientSecret)...)
	}

	tp := field.NewPath("threescale")
	ts := c.ThreeScale
	errs = append(errs, validateURL(tp.Child("adminURL"), ts.AdminURL)...)
	if u, err := url.Parse("https://" + ts.PortalHost); ts.PortalHost == "" || err != nil || u.Host != ts.PortalHost {
		errs = append(errs, field.Invalid(tp.Child("portalHost"), ts.PortalHost, "must be a host name (set it, or operator.apiManager.wildcardDomain)"))
	}
	errs = append(errs, validateSecretKeyRef(tp.Child("accessTokenSecret"), ts.AccessTokenSecret)...)
	if c.Operator == nil && ts.AccessTokenSecret == nil {
		errs = append(errs, field.Required(tp.Child("accessTokenSecret"), "required when the job does not manage the 3scale operator objects"))
	}

	if op := c.Operator; op != nil {
		p := field.NewPath("operator")
		errs = append(errs, validateName(p.Child("namespace"), op.Namespace, validation.IsDNS1123Label)...)
		errs = append(errs, validateName(p.Child("apiManager", "name"), op.APIManager.Name, validation.IsDNS1123Subdomain)...)
		if op.APIManager.WildcardDomain == "" {
			errs = append(errs, field.Required(p.Child("apiManager", "wildcardDomain"), ""))
		} else if msgs := validation.IsDNS1123Subdomain(op.APIManager.WildcardDomain); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("apiManager", "wildcardDomain"), op.APIManager.WildcardDomain, msgs[0]))
		}
		errs = append(errs, validateName(p.Child("apiManager", "tenantName"), op.APIManager.TenantName, validation.IsDNS1123Label)...)
		errs = append(errs, validateName(p.Child("policy", "name"), op.Policy.Name, validation.IsDNS1123Subdomain)...)
		if op.Policy.Version == "" {
			errs = append(errs, field.Required(p.Child("policy", "version"), ""))
		}
		errs = append(errs, validateName(p.Child("policy", "secretName"), op.Policy.SecretName, validation.IsDNS1123Subdomain)...)
		for _, d := range []struct {
			name  string
			value time.Duration
		}{{"availableTimeout", op.AvailableTimeout.Duration}, {"pollInterval", op.PollInterval.Duration}} {
			if d.value <= 0 {
				errs = append(errs, field.Invalid(p.Child(d.name), d.value.String(), "must be positive"))
			}
		}
	}
	if cm := c.CertManager; cm != nil {
		p := field.NewPath("certManager")
		errs = append(errs, validateName(p.Child("serviceName"), cm.ServiceName, validation.IsDNS1123Label)...)
		errs = append(errs, validateName(p.Child("secretName"), cm.SecretName, validation.IsDNS1123Subdomain)...)
		if cm.IssuerRef != nil && cm.IssuerRef.Name == "" {
			errs = append(errs, field.Required(p.Child("issuerRef", "name"), ""))
		}
	}
	return errs
}

func validateName(p *field.Path, v string, check func(string) []string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range check(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

func validateURL(p *field.Path, v string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return field.ErrorList{field.Invalid(p, v, "must be an absolute http(s) URL without credentials")}
	}
	return nil
}

func validateSecretKeyRef(p *field.Path, ref *SecretKeyRef) field.ErrorList {
	if ref == nil {
		return nil
	}
	errs := validateName(p.Child("name"), ref.Name, validation.IsDNS1123Subdomain)
	if ref.Key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		for _, msg := range validation.IsConfigMapKey(ref.Key) {
			errs = append(errs, field.Invalid(p.Child("key"), ref.Key, msg))
		}
	}
	return errs
}
