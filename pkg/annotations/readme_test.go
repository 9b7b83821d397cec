package annotations

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestREADMEDocumentsEveryKey keeps the README's annotation table and the contract in
// step: every input key has a row, and every row is a key.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(maas\\.io/[a-z-]+)` \\|").FindAllStringSubmatch(string(data), -1) {
		documented = append(documented, m[1])
	}
	want := slices.Sorted(slices.Values(inputKeys))
	if diff := cmp.Diff(want, slices.Sorted(slices.Values(documented))); diff != "" {
		t.Errorf("README annotation table (-contract +README):\n%s", diff)
	}
}
