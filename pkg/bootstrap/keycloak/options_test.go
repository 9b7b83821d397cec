package keycloak_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
)

func validOptions() keycloak.Options {
	return keycloak.Options{
		BaseURL:    "https://sso.example.com",
		Admin:      keycloak.AdminCredentials{Username: "admin", Password: adminPassword},
		PortalHost: portalHost,
	}
}

func TestOptionsDefault(t *testing.T) {
	o := validOptions()
	o.Default()
	want := validOptions()
	want.BasePath = keycloak.BasePathKeycloak
	want.Realm = "maas"
	want.RealmDisplayName = "Models as a Service"
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("defaulted options (-want +got):\n%s", diff)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*keycloak.Options)
		// wantErrs are the messages after the "invalid Keycloak bootstrap options: " prefix.
		wantErrs []string
	}{
		{name: "valid with a password", mutate: func(*keycloak.Options) {}},
		{name: "valid with client credentials", mutate: func(o *keycloak.Options) {
			o.Admin = keycloak.AdminCredentials{ClientID: saClientID, ClientSecret: saSecret}
		}},
		{name: "valid Red Hat SSO with a port and an identity provider", mutate: func(o *keycloak.Options) {
			o.BaseURL = "http://sso.example.com:8080/"
			o.BasePath = keycloak.BasePathRHSSO
			o.PortalHost = "portal.example.com:8443"
			o.IdentityProvider = githubIDP()
		}},
		{
			name:     "base URL without a scheme",
			mutate:   func(o *keycloak.Options) { o.BaseURL = "sso.example.com" },
			wantErrs: []string{`BaseURL: "sso.example.com" is not an http(s) URL`},
		},
		{
			name: "Red Hat SSO base URL that already ends in /auth",
			mutate: func(o *keycloak.Options) {
				o.BaseURL = "https://sso.example.com/auth/"
				o.BasePath = keycloak.BasePathRHSSO
			},
			wantErrs: []string{`BaseURL: "https://sso.example.com/auth/" already ends in /auth, which BasePath "rhsso" adds`},
		},
		{
			name:     "unknown base path",
			mutate:   func(o *keycloak.Options) { o.BasePath = "auth" },
			wantErrs: []string{`BasePath: "auth" is not "keycloak" or "rhsso"`},
		},
		{
			name:     "realm with a slash",
			mutate:   func(o *keycloak.Options) { o.Realm = "a/b" },
			wantErrs: []string{`Realm: "a/b" is not a realm name`},
		},
		{
			name:     "no credentials",
			mutate:   func(o *keycloak.Options) { o.Admin = keycloak.AdminCredentials{} },
			wantErrs: []string{"Admin: set Username and Password or ClientID and ClientSecret"},
		},
		{
			name: "both kinds of credentials",
			mutate: func(o *keycloak.Options) {
				o.Admin.ClientID, o.Admin.ClientSecret = saClientID, saSecret
			},
			wantErrs: []string{"Admin: set either Username and Password or ClientID and ClientSecret, not both"},
		},
		{
			name:     "missing password",
			mutate:   func(o *keycloak.Options) { o.Admin.Password = "" },
			wantErrs: []string{"Admin.Password: is empty"},
		},
		{
			name:     "missing client secret",
			mutate:   func(o *keycloak.Options) { o.Admin = keycloak.AdminCredentials{ClientID: saClientID} },
			wantErrs: []string{"Admin.ClientSecret: is empty"},
		},
		{
			name:     "portal host with a path",
			mutate:   func(o *keycloak.Options) { o.PortalHost = "portal.example.com/x" },
			wantErrs: []string{`PortalHost: "portal.example.com/x" is not a host name`},
		},
		{
			name:     "portal URL instead of a host",
			mutate:   func(o *keycloak.Options) { o.PortalHost = "https://portal.example.com" },
			wantErrs: []string{`PortalHost: "https://portal.example.com" is not a host name`},
		},
		{
			name: "incomplete identity provider",
			mutate: func(o *keycloak.Options) {
				o.IdentityProvider = &keycloak.IdentityProvider{
					Config: map[string]string{"clientSecret": idpSecret, "syncMode": "FORCE", "defaultScope": "openid"},
				}
			},
			wantErrs: []string{
				"IdentityProvider.Alias: is empty",
				"IdentityProvider.ProviderID: is empty",
				"IdentityProvider.ClientID: is empty",
				"IdentityProvider.ClientSecret: is empty",
				`IdentityProvider.Config: must not set "clientSecret"`,
				`IdentityProvider.Config: must not set "syncMode"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.mutate(&o)
			o.Default()
			err := o.Validate()
			var got []string
			if err != nil {
				if !errors.Is(err, keycloak.ErrInvalidOptions) {
					t.Errorf("error %v does not wrap ErrInvalidOptions", err)
				}
				for _, line := range strings.Split(err.Error(), "\n") {
					got = append(got, strings.TrimPrefix(line, keycloak.ErrInvalidOptions.Error()+": "))
				}
				for _, secret := range []string{adminPassword, saSecret, idpSecret} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains a secret", err)
					}
				}
			}
			if diff := cmp.Diff(tc.wantErrs, got); diff != "" {
				t.Errorf("validation errors (-want +got):\n%s", diff)
			}
			if _, err := keycloak.New(o); (err == nil) != (tc.wantErrs == nil) {
				t.Errorf("New error = %v, want an error: %v", err, tc.wantErrs != nil)
			}
		})
	}
}

func TestResultString(t *testing.T) {
	actions := []keycloak.Action{
		act(keycloak.VerbCreate, keycloak.KindRealm, "maas"),
		act(keycloak.VerbUpdate, keycloak.KindClient, "3scale", "redirectUris", "enabled"),
		act(keycloak.VerbUnchanged, keycloak.KindProtocolMapper, "org_name"),
	}
	tests := []struct {
		name   string
		result keycloak.Result
		want   string
	}{
		{
			name:   "applied",
			result: keycloak.Result{Actions: actions, ClientSecret: "top-secret"},
			want:   "create realm maas\nupdate client 3scale (redirectUris, enabled)\nunchanged protocol mapper org_name\n",
		},
		{
			name:   "dry run",
			result: keycloak.Result{DryRun: true, Actions: actions[:1]},
			want:   "(dry run) create realm maas\n",
		},
		{name: "empty", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.result.String()); diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
		})
	}
}
