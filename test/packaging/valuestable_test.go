package packaging

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/test/packaging/internal/valuestable"
)

// TestValuesTableUpToDate fails when a value lacks a comment or a schema entry, or when
// the README's table is stale.
func TestValuesTableUpToDate(t *testing.T) {
	dir, err := ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	readme := read("README.md")
	want, err := valuestable.Generate(read("values.yaml"), read("values.schema.json"), readme)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(readme)); diff != "" {
		t.Errorf("charts/maas-webhook/README.md is stale; run `go run ./test/packaging/cmd/values-table` (-want +got):\n%s", diff)
	}
}

func TestValuesTableRefusesUndocumented(t *testing.T) {
	schema := []byte(`{"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}`)
	cases := map[string]string{
		"no comment":       "# A.\na: x\nb: 1\n",
		"not in schema":    "# A.\na: x\n# B.\nb: 1\n# C.\nc: true\n",
		"missing a schema": "# A.\na: x\n",
	}
	for name, values := range cases {
		if _, err := valuestable.Rows([]byte(values), schema); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	rows, err := valuestable.Rows([]byte("# A, the\n# first.\na: x\n# B.\nb: 1\n"), schema)
	if err != nil {
		t.Fatal(err)
	}
	want := []valuestable.Row{{Key: "a", Type: "string", Default: `"x"`, Description: "A, the first."}, {Key: "b", Type: "integer", Default: "1", Description: "B."}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
