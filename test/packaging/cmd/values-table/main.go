// Command values-table regenerates the table of values in charts/maas-webhook/README.md
// from values.yaml and values.schema.json. Run it from the repository root:
//
//	go run ./test/packaging/cmd/values-table
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/maas-io/maas-webhook/test/packaging/internal/valuestable"
)

func main() {
	if err := run(filepath.Join("charts", "maas-webhook")); err != nil {
		fmt.Fprintln(os.Stderr, "values-table:", err)
		os.Exit(1)
	}
}

func run(chart string) error {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(chart, name)) }
	values, err := read("values.yaml")
	if err != nil {
		return err
	}
	schema, err := read("values.schema.json")
	if err != nil {
		return err
	}
	readme, err := read("README.md")
	if err != nil {
		return err
	}
	out, err := valuestable.Generate(values, schema, readme)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(chart, "README.md"), out, 0o644)
}
