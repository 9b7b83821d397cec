package annotations

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want Spec
	}{
		{name: "empty", in: Input{}, want: Spec{}},
		{name: "expose true", in: Input{Annotations: map[string]string{Expose: "true"}}, want: Spec{Expose: true}},
		{name: "expose false", in: Input{Annotations: map[string]string{Expose: "false"}}, want: Spec{}},
		{name: "foreign keys ignored", in: Input{Annotations: map[string]string{"serving.kserve.io/deploymentMode": "Standard", "status.maas.io/state": "Synced"}}, want: Spec{}},
		{name: "display name", in: Input{Annotations: map[string]string{DisplayName: "Granite 3.1 8B"}}, want: Spec{DisplayName: "Granite 3.1 8B"}},
		{name: "description with newline", in: Input{Annotations: map[string]string{Description: "line one\nline two"}}, want: Spec{Description: "line one\nline two"}},
		{name: "system name", in: Input{Annotations: map[string]string{SystemName: "team_a/granite-8b"}}, want: Spec{SystemName: "team_a/granite-8b"}},
		{name: "endpoints canonical order, trimmed, deduplicated", in: Input{Annotations: map[string]string{Endpoints: " models, embeddings ,models"}}, want: Spec{Endpoints: []string{"embeddings", "models"}}},
		{name: "endpoints openai", in: Input{Annotations: map[string]string{Endpoints: "openai"}}, want: Spec{Endpoints: []string{"chat", "completions", "embeddings", "models"}}},
		{name: "endpoints case", in: Input{Annotations: map[string]string{Endpoints: "Chat"}}, want: Spec{Endpoints: []string{"chat"}}},
		{name: "plans order kept, deduplicated", in: Input{Annotations: map[string]string{Plans: "premium, basic,premium"}}, want: Spec{Plans: []string{"premium", "basic"}}},
		{name: "token metrics false", in: Input{Annotations: map[string]string{TokenMetrics: "false"}}, want: Spec{TokenMetrics: ptr(false)}},
		{name: "token metrics true", in: Input{Annotations: map[string]string{TokenMetrics: "true"}}, want: Spec{TokenMetrics: ptr(true)}},
		{name: "backend url", in: Input{Annotations: map[string]string{BackendURL: "http://granite-predictor.models.svc.cluster.local:8080"}}, want: Spec{BackendURL: "http://granite-predictor.models.svc.cluster.local:8080"}},
		{name: "openapi configmap", in: Input{Annotations: map[string]string{OpenAPI: "granite-openapi"}}, want: Spec{OpenAPI: "granite-openapi"}},
		{name: "openapi none", in: Input{Annotations: map[string]string{OpenAPI: "none"}}, want: Spec{OpenAPI: "none"}},
		{name: "cors star", in: Input{Annotations: map[string]string{CORSAllowOrigin: "*"}}, want: Spec{CORSAllowOrigin: "*"}},
		{name: "cors origin", in: Input{Annotations: map[string]string{CORSAllowOrigin: "https://chat.example.com:8443"}}, want: Spec{CORSAllowOrigin: "https://chat.example.com:8443"}},
		{name: "deletion orphan", in: Input{Annotations: map[string]string{DeletionPolicy: "orphan"}}, want: Spec{DeletionPolicy: DeletionOrphan}},
		{name: "force remove", in: Input{Annotations: map[string]string{ForceRemove: "true"}}, want: Spec{ForceRemove: true}},
		{name: "object opt-out", in: Input{Annotations: map[string]string{Expose: "true"}, Labels: map[string]string{OptOut: "true"}}, want: Spec{Expose: true, OptOut: true}},
		{name: "namespace opt-out", in: Input{Annotations: map[string]string{Expose: "true"}, NamespaceLabels: map[string]string{OptOut: "true"}}, want: Spec{Expose: true, OptOut: true}},
		{name: "opt-out false", in: Input{Labels: map[string]string{OptOut: "false"}}, want: Spec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       Input
		sentinel error
		key      string
		contains []string
	}{
		{name: "expose yes", in: Input{Annotations: map[string]string{Expose: "yes"}}, sentinel: ErrInvalidValue, key: Expose, contains: []string{Expose, `"yes"`, `"true" or "false"`}},
		{name: "expose True", in: Input{Annotations: map[string]string{Expose: "True"}}, sentinel: ErrInvalidValue, key: Expose, contains: []string{`"True"`}},
		{name: "expose empty", in: Input{Annotations: map[string]string{Expose: ""}}, sentinel: ErrInvalidValue, key: Expose},
		{name: "force-remove 1", in: Input{Annotations: map[string]string{ForceRemove: "1"}}, sentinel: ErrInvalidValue, key: ForceRemove},
		{name: "token-metrics on", in: Input{Annotations: map[string]string{TokenMetrics: "on"}}, sentinel: ErrInvalidValue, key: TokenMetrics},
		{name: "system name with spaces", in: Input{Annotations: map[string]string{SystemName: "my model"}}, sentinel: ErrInvalidValue, key: SystemName, contains: []string{`"my model"`, `^\w[\w\-/]+$`}},
		{name: "system name one char", in: Input{Annotations: map[string]string{SystemName: "a"}}, sentinel: ErrInvalidValue, key: SystemName},
		{name: "system name leading dash", in: Input{Annotations: map[string]string{SystemName: "-abc"}}, sentinel: ErrInvalidValue, key: SystemName},
		{name: "system name too long", in: Input{Annotations: map[string]string{SystemName: strings.Repeat("a", 256)}}, sentinel: ErrInvalidValue, key: SystemName, contains: []string{"at most 255", "..."}},
		{name: "system name unicode", in: Input{Annotations: map[string]string{SystemName: "modèle"}}, sentinel: ErrInvalidValue, key: SystemName},
		{name: "display name empty", in: Input{Annotations: map[string]string{DisplayName: "  "}}, sentinel: ErrInvalidValue, key: DisplayName},
		{name: "display name control", in: Input{Annotations: map[string]string{DisplayName: "a\x00b"}}, sentinel: ErrInvalidValue, key: DisplayName},
		{name: "display name too long", in: Input{Annotations: map[string]string{DisplayName: strings.Repeat("x", 256)}}, sentinel: ErrInvalidValue, key: DisplayName},
		{name: "description control", in: Input{Annotations: map[string]string{Description: "bell\a"}}, sentinel: ErrInvalidValue, key: Description},
		{name: "endpoints unknown family", in: Input{Annotations: map[string]string{Endpoints: "chat,images"}}, sentinel: ErrInvalidValue, key: Endpoints, contains: []string{`"chat,images"`, "chat, completions, embeddings, models, openai"}},
		{name: "endpoints empty list", in: Input{Annotations: map[string]string{Endpoints: " , "}}, sentinel: ErrInvalidValue, key: Endpoints},
		{name: "plans empty", in: Input{Annotations: map[string]string{Plans: ""}}, sentinel: ErrInvalidValue, key: Plans},
		{name: "plans bad name", in: Input{Annotations: map[string]string{Plans: "basic,gold plan"}}, sentinel: ErrInvalidValue, key: Plans, contains: []string{"plan names"}},
		{name: "backend url relative", in: Input{Annotations: map[string]string{BackendURL: "/v1"}}, sentinel: ErrInvalidValue, key: BackendURL, contains: []string{"absolute http or https"}},
		{name: "backend url ftp", in: Input{Annotations: map[string]string{BackendURL: "ftp://host/x"}}, sentinel: ErrInvalidValue, key: BackendURL},
		{name: "backend url no host", in: Input{Annotations: map[string]string{BackendURL: "http://"}}, sentinel: ErrInvalidValue, key: BackendURL},
		{name: "backend url with credentials", in: Input{Annotations: map[string]string{BackendURL: "http://user:pw@host"}}, sentinel: ErrInvalidValue, key: BackendURL},
		{name: "openapi bad name", in: Input{Annotations: map[string]string{OpenAPI: "My_Spec"}}, sentinel: ErrInvalidValue, key: OpenAPI, contains: []string{"ConfigMap"}},
		{name: "cors path", in: Input{Annotations: map[string]string{CORSAllowOrigin: "https://a.example.com/path"}}, sentinel: ErrInvalidValue, key: CORSAllowOrigin},
		{name: "cors bare host", in: Input{Annotations: map[string]string{CORSAllowOrigin: "example.com"}}, sentinel: ErrInvalidValue, key: CORSAllowOrigin},
		{name: "deletion keep", in: Input{Annotations: map[string]string{DeletionPolicy: "keep"}}, sentinel: ErrInvalidValue, key: DeletionPolicy, contains: []string{`"delete" or "orphan"`}},
		{name: "unknown key with hint", in: Input{Annotations: map[string]string{"maas.io/expoze": "true"}}, sentinel: ErrUnknownKey, key: "maas.io/expoze", contains: []string{"did you mean maas.io/expose?"}},
		{name: "unknown key no hint", in: Input{Annotations: map[string]string{"maas.io/gpu-count": "2"}}, sentinel: ErrUnknownKey, key: "maas.io/gpu-count", contains: []string{"known keys are"}},
		{name: "object opt-out yes", in: Input{Labels: map[string]string{OptOut: "yes"}}, sentinel: ErrInvalidValue, key: OptOut, contains: []string{"label"}},
		{name: "namespace opt-out yes", in: Input{NamespaceLabels: map[string]string{OptOut: "yes"}}, sentinel: ErrInvalidValue, key: OptOut, contains: []string{"namespace label"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatal("Parse: want an error, got none")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tt.sentinel)
			}
			fes := FieldErrors(err)
			if len(fes) != 1 || fes[0].Key != tt.key {
				t.Errorf("FieldErrors = %v, want one for key %s", fes, tt.key)
			}
			for _, s := range append(tt.contains, tt.key) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestParseReportsEveryBadKey(t *testing.T) {
	_, err := Parse(Input{Annotations: map[string]string{Expose: "yes", SystemName: "a b", "maas.io/plan": "x"}})
	var keys []string
	for _, fe := range FieldErrors(err) {
		keys = append(keys, fe.Key)
	}
	if diff := cmp.Diff([]string{Expose, "maas.io/plan", SystemName}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestDefault(t *testing.T) {
	d := Defaults{Plans: []string{"basic"}, AvailablePlans: []string{"basic", "premium"}, TokenMetrics: true}
	obj := Object{Namespace: "models", Name: "granite-3.1-8b"}
	tests := []struct {
		name string
		in   Spec
		obj  Object
		want Spec
	}{
		{
			name: "all defaults",
			in:   Spec{Expose: true},
			obj:  obj,
			want: Spec{
				Expose: true, DisplayName: "granite-3.1-8b", SystemName: "models-granite-3_1-8b",
				Endpoints: []string{"chat", "completions", "embeddings", "models"}, Plans: []string{"basic"},
				TokenMetrics: ptr(true), CORSAllowOrigin: "*", DeletionPolicy: DeletionDelete,
			},
		},
		{
			name: "openshift display name",
			in:   Spec{Expose: true},
			obj:  Object{Namespace: "models", Name: "g", Annotations: map[string]string{OpenShiftDisplayName: " Granite "}},
			want: Spec{
				Expose: true, DisplayName: "Granite", SystemName: "models-g",
				Endpoints: []string{"chat", "completions", "embeddings", "models"}, Plans: []string{"basic"},
				TokenMetrics: ptr(true), CORSAllowOrigin: "*", DeletionPolicy: DeletionDelete,
			},
		},
		{
			name: "set values kept",
			in: Spec{
				Expose: true, DisplayName: "G", SystemName: "g1", Endpoints: []string{"embeddings"}, Plans: []string{"premium"},
				TokenMetrics: ptr(false), CORSAllowOrigin: "https://a.example.com", DeletionPolicy: DeletionOrphan,
			},
			obj: Object{Namespace: "models", Name: "g", Annotations: map[string]string{OpenShiftDisplayName: "Other"}},
			want: Spec{
				Expose: true, DisplayName: "G", SystemName: "g1", Endpoints: []string{"embeddings"}, Plans: []string{"premium"},
				TokenMetrics: ptr(false), CORSAllowOrigin: "https://a.example.com", DeletionPolicy: DeletionOrphan,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Default(tt.in, tt.obj, d)
			if err != nil {
				t.Fatalf("Default: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Default (-want +got):\n%s", diff)
			}
			again, err := Default(got, tt.obj, d)
			if err != nil || !cmp.Equal(got, again) {
				t.Errorf("Default is not idempotent: %v %s", err, cmp.Diff(got, again))
			}
		})
	}
}

func TestDefaultUnknownPlan(t *testing.T) {
	_, err := Default(Spec{Plans: []string{"gold"}}, Object{Namespace: "n", Name: "m"}, Defaults{AvailablePlans: []string{"basic"}})
	if !errors.Is(err, ErrUnknownPlan) || !strings.Contains(err.Error(), "gold") || !strings.Contains(err.Error(), Plans) {
		t.Fatalf("Default error = %v, want ErrUnknownPlan naming gold and %s", err, Plans)
	}
}

func TestDefaultSystemName(t *testing.T) {
	long := strings.Repeat("n", 63)
	name := strings.Repeat("m", 253)
	tests := []struct{ ns, name, want string }{
		{"models", "granite", "models-granite"},
		{"models", "llama-3.1-8b", "models-llama-3_1-8b"},
		{"", "x", "_x"},
	}
	for _, tt := range tests {
		if got := DefaultSystemName(tt.ns, tt.name); got != tt.want || !ValidSystemName(got) {
			t.Errorf("DefaultSystemName(%q, %q) = %q, want %q (valid)", tt.ns, tt.name, got, tt.want)
		}
	}
	a := DefaultSystemName(long, name)
	b := DefaultSystemName(long, name[:252]+"x")
	if len(a) != MaxSystemNameLength || !ValidSystemName(a) || !ValidSystemName(b) {
		t.Errorf("long names not cut to a valid %d-character name: %q", MaxSystemNameLength, a)
	}
	if a == b {
		t.Errorf("two long names that differ only past the cut collide: %q", a)
	}
	if a != DefaultSystemName(long, name) {
		t.Error("DefaultSystemName is not stable")
	}
}

func TestRenderRoundTrip(t *testing.T) {
	s, err := Default(Spec{Expose: true, Description: "d", BackendURL: "https://x.example.com", OpenAPI: "spec", ForceRemove: true},
		Object{Namespace: "n", Name: "m"}, Defaults{Plans: []string{"basic"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(Input{Annotations: Render(s)})
	if err != nil {
		t.Fatalf("Parse(Render): %v", err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Parse(Render(s)) (-want +got):\n%s", diff)
	}
}

func TestRoutes(t *testing.T) {
	for _, f := range Families {
		if len(Routes(f)) == 0 {
			t.Errorf("family %s has no routes", f)
		}
	}
	if Routes("images") != nil {
		t.Error("unknown family has routes")
	}
}
