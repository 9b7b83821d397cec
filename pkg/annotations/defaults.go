package annotations

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Defaults are the configuration's defaults that Default fills in.
type Defaults struct {
	// Plans are the default plan names.
	Plans []string
	// AvailablePlans are the plan names the configuration defines; Default rejects any
	// other. Nil accepts every name (for offline use without a configuration).
	AvailablePlans []string
	// TokenMetrics is the default of the token-metrics annotation.
	TokenMetrics bool
	// CORSAllowOrigin is the default allowed origin; empty means "*".
	CORSAllowOrigin string
}

// Object identifies the object a Spec belongs to.
type Object struct {
	// Namespace of the object.
	Namespace string
	// Name of the object.
	Name string
	// Annotations of the object, for the OpenShift display name.
	Annotations map[string]string
}

// hashSuffixLength is the number of hex digits of the hash that ends a shortened name.
const hashSuffixLength = 8

// Default returns s with every unset field filled in, deterministically. It fails with
// ErrUnknownPlan when a plan is not in d.AvailablePlans.
func Default(s Spec, obj Object, d Defaults) (Spec, error) {
	if s.SystemName == "" {
		s.SystemName = DefaultSystemName(obj.Namespace, obj.Name)
	}
	if s.DisplayName == "" {
		s.DisplayName = s.SystemName
		for _, v := range []string{strings.TrimSpace(obj.Annotations[OpenShiftDisplayName]), obj.Name} {
			if validText(v) {
				s.DisplayName = v
				break
			}
		}
	}
	if s.Endpoints == nil {
		s.Endpoints = slices.Clone(Families)
	}
	if s.Plans == nil {
		s.Plans = slices.Clone(d.Plans)
	}
	if s.TokenMetrics == nil {
		b := d.TokenMetrics
		s.TokenMetrics = &b
	}
	if s.CORSAllowOrigin == "" {
		s.CORSAllowOrigin = d.CORSAllowOrigin
		if s.CORSAllowOrigin == "" {
			s.CORSAllowOrigin = "*"
		}
	}
	if s.DeletionPolicy == "" {
		s.DeletionPolicy = DeletionDelete
	}
	if d.AvailablePlans != nil {
		for _, p := range s.Plans {
			if !slices.Contains(d.AvailablePlans, p) {
				return s, &FieldError{
					Key: Plans, Value: strings.Join(s.Plans, ","), Err: ErrUnknownPlan,
					Allowed: "plan " + p + " is not configured; configured plans are " + strings.Join(d.AvailablePlans, ", "),
				}
			}
		}
	}
	return s, nil
}

// DefaultSystemName derives the system name of an object: "<namespace>-<name>", with
// every character 3scale does not accept replaced by "_". A name longer than 3scale
// allows is cut and ends with a hash of the namespace and name, so that two objects
// never get the same one.
func DefaultSystemName(namespace, name string) string {
	s := []byte(namespace + "-" + name)
	for i, c := range s {
		if !isWordByte(c) && c != '-' && c != '/' {
			s[i] = '_'
		}
	}
	if !isWordByte(s[0]) {
		s[0] = '_'
	}
	if len(s) < 2 {
		s = append(s, '_')
	}
	if len(s) <= MaxSystemNameLength {
		return string(s)
	}
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return string(s[:MaxSystemNameLength-hashSuffixLength-1]) + "-" + hex.EncodeToString(sum[:])[:hashSuffixLength]
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
