package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Section names of a Desired. The applier reads and writes only the sections whose hash
// changed since the last apply; plans are one section each, "plan/<system name>".
const (
	SectionBackend  = "backend"
	SectionProduct  = "product"
	SectionProxy    = "proxy"
	SectionPolicies = "policies"
	SectionAPI      = "api"
	SectionDoc      = "activedoc"
	SectionPortal   = "portal"
	// SectionPlanPrefix starts the section name of each application plan.
	SectionPlanPrefix = "plan/"
)

// sectionHashLength is the number of hex digits kept of a section hash: enough to tell
// versions of one object's section apart, short enough for an annotation.
const sectionHashLength = 10

// Sections are the hashes of the parts of a Desired, by section name.
type Sections map[string]string

// Sections hashes each part of d.
func (d Desired) Sections() Sections {
	s := Sections{
		SectionBackend:  hashOf(d.Backend),
		SectionProduct:  hashOf(d.Product),
		SectionProxy:    hashOf(d.Proxy),
		SectionPolicies: hashOf(d.Policies),
		SectionAPI:      hashOf([]any{d.Metrics, d.Methods, d.MappingRules}),
		SectionDoc:      hashOf(d.ActiveDoc),
		SectionPortal:   hashOf(d.Portal),
	}
	for _, p := range d.ApplicationPlans {
		s[SectionPlanPrefix+p.SystemName] = hashOf(p)
	}
	return s
}

func hashOf(v any) string {
	// encoding/json sorts map keys, so equal values give equal bytes.
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("plan: hashing a plain value failed: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:sectionHashLength]
}

// String encodes the sections as "name=hash,..." sorted by name, the form stored on the
// InferenceService.
func (s Sections) String() string {
	parts := make([]string, 0, len(s))
	for _, k := range slices.Sorted(maps.Keys(s)) {
		parts = append(parts, k+"="+s[k])
	}
	return strings.Join(parts, ",")
}

// Hash is the hash of all the sections: equal hashes mean equal desired states.
func (s Sections) Hash() string { return hashOf(s.String()) }

// ParseSections decodes String's form; malformed items are skipped, which only makes
// the applier read more.
func ParseSections(v string) Sections {
	out := Sections{}
	for _, item := range strings.Split(v, ",") {
		if k, h, ok := strings.Cut(item, "="); ok && k != "" && h != "" {
			out[k] = h
		}
	}
	return out
}

// Changed lists the sections of s that differ from applied, or that only one of the two
// has, sorted.
func (s Sections) Changed(applied Sections) []string {
	var out []string
	for k, h := range s {
		if applied[k] != h {
			out = append(out, k)
		}
	}
	for k := range applied {
		if _, ok := s[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// MarshalYAML renders d as YAML, for `webhook render -o plan` and golden files.
func MarshalYAML(d Desired) ([]byte, error) {
	b, err := yaml.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("marshal desired state: %w", err)
	}
	return b, nil
}
