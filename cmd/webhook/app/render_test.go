package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func runRender(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := NewRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"render"}, args...))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestRenderExample(t *testing.T) {
	out, _, err := runRender(t, "", "-f", "../../../examples/inferenceservices/granite-chat.yaml", "--config", "../../../examples/config.yaml")
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var obj struct {
		Metadata struct {
			Annotations map[string]string
			Labels      map[string]string
			Finalizers  []string
		}
	}
	if err := yaml.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("render printed no YAML object: %v\n%s", err, out)
	}
	m := obj.Metadata
	if m.Annotations["maas.io/system-name"] != "models-granite-3-1-8b-instruct" || m.Annotations["maas.io/plans"] != "basic" ||
		m.Annotations["maas.io/display-name"] != "Granite 3.1 8B Instruct" || m.Labels["maas.io/managed"] != "true" ||
		len(m.Finalizers) != 1 || m.Finalizers[0] != "maas.io/cleanup" {
		t.Errorf("render output lacks the defaults, label or finalizer:\n%s", out)
	}
}

func TestRenderStdinMultiDocPatch(t *testing.T) {
	in := `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: a, namespace: n, annotations: {maas.io/expose: "true"}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: b, namespace: n}
`
	out, _, err := runRender(t, in, "-f", "-", "-o", "patch")
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if !strings.Contains(out, `"path": "/metadata/finalizers"`) || !strings.Contains(out, "[]") {
		t.Errorf("want a patch for a and an empty patch for b, got:\n%s", out)
	}
}

func TestRenderInvalid(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"expose yes and system name with spaces", "../../../examples/inferenceservices/invalid.yaml",
			[]string{"maas.io/expose", `"yes"`, `"true" or "false"`, "maas.io/system-name", `"my model"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := runRender(t, "", "-f", tt.file)
			if !errors.Is(err, ErrInvalidObjects) {
				t.Fatalf("render error = %v, want ErrInvalidObjects", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

func TestRenderFlagErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"-f", "x.yaml", "-o", "xml"}, {"-f", "does-not-exist.yaml"}, {"-f", "-", "--config", "nope.yaml"}} {
		if _, _, err := runRender(t, "", args...); err == nil {
			t.Errorf("render %v: want an error", args)
		}
	}
	if _, _, err := runRender(t, "kind: [", "-f", "-"); err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Errorf("malformed YAML: error %v should name the document", err)
	}
}

func TestRenderPlan(t *testing.T) {
	out, _, err := runRender(t, "", "-o", "plan", "--config", "../../../examples/config.yaml",
		"-f", "../../../examples/inferenceservices/embeddings.yaml")
	if err != nil {
		t.Fatalf("render -o plan: %v", err)
	}
	for _, want := range []string{"search-nomic-embed", "http://nomic-embed-predictor.search.svc.cluster.local:80", "/v1/embeddings", "/v1/models"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "/v1/chat/completions") {
		t.Errorf("plan exposes chat, which the model does not:\n%s", out)
	}
	in := "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: a, namespace: n, annotations: {maas.io/expose: 'true', maas.io/openapi: spec}}\n"
	if _, stderr, err := runRender(t, in, "-o", "plan", "-f", "-"); !errors.Is(err, ErrInvalidObjects) || !strings.Contains(stderr, "ConfigMap spec") {
		t.Errorf("openapi ConfigMap offline: err %v, stderr %q", err, stderr)
	}
}
