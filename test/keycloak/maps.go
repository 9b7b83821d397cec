package keycloak

import (
	"encoding/json"
	"maps"
	"slices"
)

// copyMap deep-copies a JSON object through encoding/json, so stored state never shares
// memory with what handlers return or tests inspect.
func copyMap(m map[string]any) map[string]any {
	var out map[string]any
	roundTrip(m, &out)
	return out
}

// roundTrip converts in to out through JSON. The simulator only stores values that came
// from JSON or are plain literals, so marshalling cannot fail.
func roundTrip(in, out any) {
	data, err := json.Marshal(in)
	if err != nil {
		panic("keycloak simulator: state is not JSON: " + err.Error())
	}
	if err := json.Unmarshal(data, out); err != nil {
		panic("keycloak simulator: state is not JSON: " + err.Error())
	}
}

// fillDefaults sets every key of defaults that m lacks (or holds null).
func fillDefaults(m, defaults map[string]any) {
	for k, v := range defaults {
		if m[k] == nil {
			m[k] = v
		}
	}
}

func stringField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func boolField(m map[string]any, key string) bool {
	b, _ := m[key].(bool)
	return b
}

// sortedSet returns the strings of a JSON array sorted and without duplicates: Keycloak
// stores redirect URIs and web origins as sets, so their order is not preserved.
func sortedSet(v any) []string {
	items, _ := v.([]any)
	out := []string{}
	for _, item := range items {
		if s, isString := item.(string); isString {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
