package mutate

import (
	"strings"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// Message is the one-line text a user sees for an invalid object, from the webhook's
// denial (through kubectl) and from the render command alike: every bad key with its
// value and what is allowed.
func Message(kind, namespace, name string, err error) string {
	var parts []string
	for _, fe := range annotations.FieldErrors(err) {
		parts = append(parts, fe.Error())
	}
	if len(parts) == 0 {
		parts = []string{err.Error()}
	}
	ref := name
	if namespace != "" {
		ref = namespace + "/" + name
	}
	return kind + " " + ref + " is invalid: " + strings.Join(parts, "; ")
}
