package tenant_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/tenant"
	"github.com/maas-io/maas-webhook/pkg/threescale"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

func TestEnsureConvergesAndRepairsDrift(t *testing.T) {
	ctx := context.Background()
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	c, err := threescale.New(ctx, threescale.Options{AdminURL: ts.URL, Token: sim.Token()})
	if err != nil {
		t.Fatal(err)
	}
	opts := tenant.Options{SSO: tenant.SSO{Name: "Keycloak", ClientID: "3scale", ClientSecret: "s3cr3t", Site: "https://sso.example.com/realms/maas"}}
	run := func(o tenant.Options, dryRun bool) []string {
		t.Helper()
		actions, err := tenant.Ensure(ctx, c, o, dryRun)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range actions {
			out = append(out, a.String())
		}
		return out
	}
	want := []string{"create SSO integration keycloak", "update provider account acme (site_access_code)", "unchanged settings tenant"}
	if diff := cmp.Diff(want, run(opts, false)); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	id := sim.Snapshot().AuthProviders[0].ID

	// Drift made by an administrator is repaired, and only the drifted fields are sent.
	if _, err := c.UpdateAuthenticationProvider(ctx, id, porta.Params{"published": "false", "client_secret": "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateSettings(ctx, porta.Params{"signups_enabled": "false"}); err != nil {
		t.Fatal(err)
	}
	name := "keycloak (id " + strconv.FormatInt(id, 10) + ")"
	// A dry run that does not know the client secret does not compare it.
	unknown := opts
	unknown.SSO.ClientSecret = ""
	sim.ResetRequests()
	wantDry := []string{"update SSO integration " + name + " (published)", "unchanged provider account acme", "update settings tenant (signups_enabled)"}
	if diff := cmp.Diff(wantDry, run(unknown, true)); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	for _, r := range sim.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("dry run wrote: %s %s", r.Method, r.Path)
		}
	}
	want = []string{"update SSO integration " + name + " (client_secret, published)", "unchanged provider account acme", "update settings tenant (signups_enabled)"}
	if diff := cmp.Diff(want, run(opts, false)); diff != "" {
		t.Errorf("repair run (-want +got):\n%s", diff)
	}
	for _, a := range run(opts, false) {
		if a != "unchanged SSO integration "+name && a != "unchanged provider account acme" && a != "unchanged settings tenant" {
			t.Errorf("converged run: %s", a)
		}
	}
	if got := sim.Snapshot().AuthProviders[0]; got.ClientSecret != "s3cr3t" || !got.Published {
		t.Errorf("SSO integration not repaired")
	}
}
