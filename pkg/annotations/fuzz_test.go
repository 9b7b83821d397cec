package annotations

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse feeds arbitrary keys and values to Parse: it never panics, and whatever it
// accepts survives Render and Default unchanged.
func FuzzParse(f *testing.F) {
	f.Add(Expose, "true", SystemName, "models-granite", "ns", "name")
	f.Add(Endpoints, "openai, chat", Plans, "basic,basic", "models", "llama-3.1")
	f.Add("maas.io/expoze", "yes", DisplayName, "Granite\n", "a", "b")
	f.Add(CORSAllowOrigin, "https://a.example.com:443/", BackendURL, "http://h:1/p?q", "x", "")
	f.Add(OptOut, "true", DeletionPolicy, "orphan", "n", "m")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, ns, name string) {
		in := Input{Annotations: map[string]string{k1: v1, k2: v2}}
		s, err := Parse(in)
		if err != nil {
			if len(FieldErrors(err)) == 0 {
				t.Fatalf("error without FieldErrors: %v", err)
			}
			return
		}
		back, err := Parse(Input{Annotations: Render(s)})
		if err != nil {
			t.Fatalf("Parse(Render(s)) failed: %v", err)
		}
		if diff := cmp.Diff(s, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		d, err := Default(s, Object{Namespace: ns, Name: name}, Defaults{Plans: []string{"basic"}})
		if err != nil {
			t.Fatalf("Default: %v", err)
		}
		if !ValidSystemName(d.SystemName) {
			t.Fatalf("Default gave an invalid system name %q", d.SystemName)
		}
		back, err = Parse(Input{Annotations: Render(d)})
		if err != nil {
			t.Fatalf("Parse(Render(Default(s))) failed: %v", err)
		}
		if diff := cmp.Diff(d, back); diff != "" {
			t.Fatalf("defaulted round trip (-want +got):\n%s", diff)
		}
	})
}
