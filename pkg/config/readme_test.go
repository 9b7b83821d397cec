package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fieldPaths lists the dotted JSON paths of every leaf field of t ("plans[].name").
func fieldPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		path := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			out = append(out, fieldPaths(ft.Elem(), path+"[].")...)
			continue
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[metav1.Duration]() {
			out = append(out, fieldPaths(ft, path+".")...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// TestREADMEDocumentsEveryField keeps the README's configuration table and Config in
// step.
func TestREADMEDocumentsEveryField(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(data)
	if i := strings.Index(section, "## The configuration"); i >= 0 {
		section = section[i:]
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-zA-Z.\\[\\]]+)` \\|").FindAllStringSubmatch(section, -1) {
		if !strings.HasPrefix(m[1], "maas.io") {
			documented = append(documented, m[1])
		}
	}
	want := slices.Sorted(slices.Values(fieldPaths(reflect.TypeFor[Config](), "")))
	if diff := cmp.Diff(want, slices.Sorted(slices.Values(documented))); diff != "" {
		t.Errorf("README configuration table (-Config +README):\n%s", diff)
	}
}
