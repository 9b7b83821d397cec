package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/maas-io/maas-webhook/pkg/config"
)

// parseServe parses serve's flags into options, as the command would.
func parseServe(t *testing.T, args ...string) *serveOptions {
	t.Helper()
	t.Setenv("POD_NAMESPACE", "")
	t.Setenv("SERVICE_ACCOUNT", "")
	o := &serveOptions{}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestServeValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// wantErr lists substrings of the error; none means valid.
		wantErr []string
	}{
		{name: "minimal", args: []string{"--config", "c.yaml", "--webhook-service-namespace", "maas-system"}},
		{name: "no leader election, explicit controller", args: []string{"--config", "c.yaml", "--leader-elect=false", "--controller-service-account", "system:serviceaccount:x:y"}},
		{name: "no config", args: []string{"--webhook-service-namespace", "maas-system"}, wantErr: []string{"--config is required"}},
		{name: "bad mode and port", args: []string{"--config", "c.yaml", "--webhook-service-namespace", "n", "--tls-mode", "magic", "--webhook-port", "0"}, wantErr: []string{`--tls-mode "magic"`, "--webhook-port 0"}},
		{name: "self-managed without a namespace", args: []string{"--config", "c.yaml", "--leader-elect=false", "--controller-service-account", "u", "--tls-mode", "self-managed"}, wantErr: []string{"--webhook-service-namespace"}},
		{name: "no namespace at all", args: []string{"--config", "c.yaml"}, wantErr: []string{"--leader-elect needs", "--controller-service-account"}},
		{name: "bad size", args: []string{"--config", "c.yaml", "--webhook-service-namespace", "n", "--max-request-bytes", "0"}, wantErr: []string{"--max-request-bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseServe(t, tt.args...).validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("validate: no error")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestServeDerivedNames(t *testing.T) {
	o := parseServe(t, "--webhook-service-namespace", "maas-system", "--service-account", "maas", "--tls-hosts", "127.0.0.1")
	got := struct {
		User  string
		Hosts []string
	}{o.controllerUser(), o.serviceHosts()}
	want := struct {
		User  string
		Hosts []string
	}{
		User:  "system:serviceaccount:maas-system:maas",
		Hosts: []string{"maas-webhook.maas-system.svc", "maas-webhook.maas-system.svc.cluster.local", "maas-webhook.maas-system", "maas-webhook", "127.0.0.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if u := parseServe(t, "--controller-service-account", "someone").controllerUser(); u != "someone" {
		t.Errorf("explicit controller user: %q", u)
	}
}

// TestServeRunsControllerSetup checks that run hands the manager and the configuration
// to every controller setup before starting, and stops on a setup error.
func TestServeRunsControllerSetup(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := parseServe(t, "--config", "../../../examples/config.yaml", "--kubeconfig", kubeconfig, "--webhook-service-namespace", "maas-system",
		"--health-probe-bind-address", "0", "--metrics-bind-address", "0")
	errSetup := errors.New("setup refused")
	var gotPlans []string
	o.controllers = []ControllerSetup{func(mgr manager.Manager, cfg config.Config) error {
		if mgr == nil {
			t.Error("no manager")
		}
		gotPlans = cfg.PlanNames()
		return errSetup
	}}
	if err := o.run(context.Background()); !errors.Is(err, errSetup) {
		t.Fatalf("run: %v, want %v", err, errSetup)
	}
	if diff := cmp.Diff([]string{"basic", "premium"}, gotPlans); diff != "" {
		t.Errorf("configuration plans (-want +got):\n%s", diff)
	}
}
