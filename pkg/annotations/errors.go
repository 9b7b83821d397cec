package annotations

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrInvalidValue is wrapped by errors for a known key with a bad value.
	ErrInvalidValue = errors.New("invalid annotation value")
	// ErrUnknownKey is wrapped by errors for a maas.io/ key that is not part of the contract.
	ErrUnknownKey = errors.New("unknown annotation")
	// ErrUnknownPlan is wrapped by errors for a plan name the configuration does not define.
	ErrUnknownPlan = errors.New("unknown plan")
)

// FieldError describes what is wrong with one annotation: the key, the bad value and
// what is allowed.
type FieldError struct {
	// Key is the annotation key.
	Key string
	// Value is the value that was given.
	Value string
	// Allowed says what the key accepts.
	Allowed string
	// Hint is an optional suggestion, such as the key that was probably meant.
	Hint string
	// Err is the sentinel the error wraps.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case errors.Is(e.Err, ErrUnknownKey):
		fmt.Fprintf(&b, "annotation %s is not known", e.Key)
	default:
		fmt.Fprintf(&b, "annotation %s: invalid value %q", e.Key, truncate(e.Value, 80))
	}
	if e.Allowed != "" {
		fmt.Fprintf(&b, ": %s", e.Allowed)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

// truncate keeps an echoed value short, so that a huge annotation does not make a huge
// message.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// FieldErrors returns the FieldErrors inside err (a single one or a join of several), in
// order.
func FieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

// suggest returns the known key closest to key when it is close enough to be a typo.
func suggest(key string) string {
	best, bestDist := "", 4
	for _, k := range inputKeys {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
