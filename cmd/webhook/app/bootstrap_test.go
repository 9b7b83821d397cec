package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBootstrapCommandValidation(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("namespace: maas\nbogus: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"config required", []string{"bootstrap"}, "--config is required"},
		{"config missing", []string{"bootstrap", "--config", filepath.Join(t.TempDir(), "none.yaml")}, "read bootstrap configuration"},
		{"config invalid", []string{"bootstrap", "--config", bad}, `unknown field "bogus"`},
		{"no arguments", []string{"bootstrap", "--config", bad, "extra"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := NewRootCommand()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Execute error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBootstrapCommandFlags(t *testing.T) {
	cmd := newBootstrapCommand()
	for _, name := range []string{"config", "dry-run", "kubeconfig"} {
		if cmd.Flags().Lookup(name) == nil {
			t.Errorf("flag --%s not registered", name)
		}
	}
}
