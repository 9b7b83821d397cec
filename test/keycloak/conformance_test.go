package keycloak

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// specEnv names the Keycloak OpenAPI document the conformance test reads: the official
// Keycloak 26 document (absolute "/admin/realms/..." paths) or a ccouzens one (paths
// relative to "/admin/realms").
const specEnv = "MAAS_KEYCLOAK_SPEC"

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// specRoutes returns "METHOD path" for every operation of the document, with path
// parameters written "{}" because the documents name them differently.
func specRoutes(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read %s: %v", specEnv, err)
	}
	// Only the path and method keys are needed, so encoding/json suffices; an OpenAPI
	// library would add nothing here.
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if len(doc.Paths) == 0 {
		t.Fatalf("%s has no paths", file)
	}
	out := map[string]bool{}
	for p, ops := range doc.Paths {
		if !strings.HasPrefix(p, realmsPath) {
			p = strings.TrimSuffix(realmsPath+p, "/")
		}
		for method := range ops {
			out[strings.ToUpper(method)+" "+pathParam.ReplaceAllString(p, "{}")] = true
		}
	}
	return out
}

// TestRoutesExistInSpec checks that every admin route the simulator serves exists, with
// the same method, in the Keycloak OpenAPI document. The token endpoint is part of
// OpenID Connect, not of the admin API, so the document does not describe it.
func TestRoutesExistInSpec(t *testing.T) {
	file := os.Getenv(specEnv)
	if file == "" {
		t.Skipf("%s is not set; point it at keycloak-26.6-official-openapi.json (or a ccouzens spec) to check the routes", specEnv)
	}
	spec := specRoutes(t, file)
	for _, c := range Routes() {
		if c.Template == TokenTemplate {
			continue
		}
		key := c.Method + " " + pathParam.ReplaceAllString(c.Template, "{}")
		if !spec[key] {
			t.Errorf("%s is served but not in %s", c, file)
		}
	}
}
