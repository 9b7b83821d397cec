package bootstrap_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/bootstrap"
)

const minimal = `
namespace: maas
keycloak:
  url: https://sso.example.com
  adminSecret: {name: keycloak-admin}
threescale:
  accessTokenSecret: {name: tok, key: token}
  adminURL: https://maas-admin.apps.example.com
  portalHost: maas.apps.example.com
`

func TestParseConfigDefaults(t *testing.T) {
	c, err := bootstrap.ParseConfig([]byte(`
namespace: maas
keycloak:
  url: https://sso.example.com
  adminSecret: {name: keycloak-admin, grant: client_credentials}
threescale: {}
operator:
  apiManager: {wildcardDomain: apps.example.com}
  policy: {secretName: llm-metrics-code}
certManager: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{
		c.Keycloak.AdminSecret.IDKey, c.Keycloak.AdminSecret.SecretKey, c.Keycloak.ClientSecretName,
		c.ThreeScale.AdminURL, c.ThreeScale.PortalHost, c.ThreeScale.SSOName,
		c.Operator.Namespace, c.Operator.APIManager.Name, c.Operator.APIManager.TenantName,
		c.Operator.Policy.Name, c.Operator.Policy.Version, c.Operator.AvailableTimeout.Duration, c.Operator.PollInterval.Duration,
		c.CertManager.ServiceName, c.CertManager.SecretName,
	}
	want := []any{
		"clientId", "clientSecret", "maas-sso-client",
		"https://3scale-admin.apps.example.com", "3scale.apps.example.com", "Keycloak",
		"maas", "apimanager", "3scale",
		"llm-metrics", "0.1", 20 * time.Minute, 10 * time.Second,
		"maas-webhook", "maas-webhook-tls",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "minimal is valid", yaml: minimal},
		{name: "unknown field", yaml: minimal + "extra: 1\n", want: []string{`unknown field "extra"`}},
		{name: "case-sensitive", yaml: strings.Replace(minimal, "adminURL", "adminUrl", 1), want: []string{`unknown field "threescale.adminUrl"`}},
		{name: "duplicate key", yaml: minimal + "namespace: other\n", want: []string{`"namespace" already set`}},
		{
			name: "field paths",
			yaml: `
namespace: Bad_NS
keycloak: {url: "ftp://x", basePath: old, adminSecret: {grant: magic}, identityProvider: {alias: gh, clientSecret: {name: s}}}
threescale: {}
operator: {apiManager: {}, policy: {}, pollInterval: -1s}
certManager: {issuerRef: {kind: ClusterIssuer}}
`,
			want: []string{
				"namespace: Invalid value", "keycloak.url: Invalid value", "keycloak.basePath: Unsupported value",
				"keycloak.adminSecret.name: Required value", "keycloak.adminSecret.grant: Unsupported value",
				"keycloak.identityProvider.providerID: Required value", "keycloak.identityProvider.clientID: Required value",
				"keycloak.identityProvider.clientSecret.key: Required value",
				"threescale.adminURL: Required value", "threescale.portalHost: Invalid value",
				"operator.apiManager.wildcardDomain: Required value", "operator.policy.secretName: Required value",
				"operator.pollInterval: Invalid value", "certManager.issuerRef.name: Required value",
			},
		},
		{
			name: "token required without operator",
			yaml: strings.Replace(minimal, "  accessTokenSecret: {name: tok, key: token}\n", "", 1),
			want: []string{"threescale.accessTokenSecret: Required value"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bootstrap.ParseConfig([]byte(tc.yaml))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("ParseConfig: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestExampleConfigParses(t *testing.T) {
	if _, err := bootstrap.LoadConfig("../../examples/bootstrap.yaml"); err != nil {
		t.Fatal(err)
	}
}
