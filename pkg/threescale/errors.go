package threescale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Sentinel errors that an *Error matches with errors.Is.
var (
	// ErrNotFound matches a 404, or a lookup by system name that found nothing.
	ErrNotFound = errors.New("not found")
	// ErrForbidden matches a 403: a missing or wrong access token ("Access denied"),
	// missing permissions, or a refused delete.
	ErrForbidden = errors.New("forbidden")
	// ErrValidation matches a 422 or a 400 (a request 3scale rejects as invalid).
	ErrValidation = errors.New("validation failed")
	// ErrConflict matches a 409, or a 422 whose field errors say a unique value
	// (such as system_name) "has already been taken".
	ErrConflict = errors.New("already exists")
	// ErrAlreadySubscribed matches the 422 for a developer account that is already
	// subscribed to the product; callers can treat it as done.
	ErrAlreadySubscribed = errors.New("already subscribed")
	// ErrUnavailable matches a 5xx, a 429 or a transport failure (timeouts included)
	// that persisted through every retry.
	ErrUnavailable = errors.New("3scale unavailable")
)

// Error is a failed Admin API operation. Its message names the operation, the
// object and why; it never contains the access token.
type Error struct {
	// Op is the operation, e.g. "CreateBackend".
	Op string
	// Object names what the operation was about, e.g. `backend "my-model"`.
	Object string
	// StatusCode is the HTTP status of the last response, 0 when none arrived.
	StatusCode int
	// Fields are the validation errors of a 422 (attribute -> messages).
	Fields map[string][]string
	// Message is the server's non-field error message, or the client's reason.
	Message string
	// Err is the (redacted) transport cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("3scale " + e.Op)
	if e.Object != "" {
		b.WriteString(" " + e.Object)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if len(e.Fields) > 0 {
		b.WriteString(": " + FieldMessages(e.Fields))
	} else if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the transport cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel errors by status code and body.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrValidation:
		return e.StatusCode == http.StatusUnprocessableEntity || e.StatusCode == http.StatusBadRequest
	case ErrConflict:
		return e.StatusCode == http.StatusConflict || e.hasFieldMessage("has already been taken") || e.Is(ErrAlreadySubscribed)
	case ErrAlreadySubscribed:
		return e.StatusCode == http.StatusUnprocessableEntity && e.hasFieldMessage("already subscribed")
	case ErrUnavailable:
		return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || (e.StatusCode == 0 && e.Err != nil)
	}
	return false
}

func (e *Error) hasFieldMessage(sub string) bool {
	for _, msgs := range e.Fields {
		for _, m := range msgs {
			if strings.Contains(m, sub) {
				return true
			}
		}
	}
	return false
}

// IsValidation reports whether err is a validation failure (422 or 400).
func IsValidation(err error) bool { return errors.Is(err, ErrValidation) }

// FieldErrors returns the field errors of a validation failure, or nil.
func FieldErrors(err error) map[string][]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// FieldMessages formats field errors as "field: message; field: message", fields
// sorted, e.g. "system_name: has already been taken".
func FieldMessages(fields map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		for _, m := range fields[k] {
			parts = append(parts, k+": "+m)
		}
	}
	return strings.Join(parts, "; ")
}

// maxMessage bounds how much of a non-JSON body goes into an error message.
const maxMessage = 200

// parseErrorBody extracts field errors or a message from porta's error bodies:
// {"errors":{...}}, {"error":"msg"}, {"error":{"error":"msg",...}} (state machine),
// {"status":"Not found"}, {"policies_config":[{"name":..,"errors":{...}}]} or text.
func parseErrorBody(body []byte) (map[string][]string, string) {
	var doc struct {
		Errors   map[string][]string `json:"errors"`
		Error    json.RawMessage     `json:"error"`
		Status   string              `json:"status"`
		Policies []struct {
			Name   string              `json:"name"`
			Errors map[string][]string `json:"errors"`
		} `json:"policies_config"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		msg := strings.TrimSpace(string(body))
		if len(msg) > maxMessage {
			msg = msg[:maxMessage] + "..."
		}
		return nil, msg
	}
	if len(doc.Errors) > 0 {
		return doc.Errors, ""
	}
	if len(doc.Policies) > 0 {
		fields := map[string][]string{}
		for _, p := range doc.Policies {
			for k, msgs := range p.Errors {
				key := fmt.Sprintf("policies_config[%s].%s", p.Name, k)
				fields[key] = append(fields[key], msgs...)
			}
		}
		return fields, ""
	}
	var msg string
	if json.Unmarshal(doc.Error, &msg) == nil && msg != "" {
		return nil, msg
	}
	var transition struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(doc.Error, &transition) == nil && transition.Error != "" {
		return nil, transition.Error
	}
	return nil, doc.Status
}

var accessTokenRE = regexp.MustCompile(`(access_token|provider_key)=[^&\s"']*`)

// redactor removes the access token from text that may end up in errors or logs:
// porta-go-client and net/http put URLs and bodies into their errors.
type redactor struct{ token string }

func (r redactor) redact(s string) string {
	if r.token != "" {
		s = strings.ReplaceAll(s, r.token, "[redacted]")
	}
	return accessTokenRE.ReplaceAllString(s, "$1=[redacted]")
}

// redactedError carries a redacted message; it unwraps only to context errors so
// that errors.Is(err, context.DeadlineExceeded) keeps working without exposing
// the original (unredacted) error chain.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

func (r redactor) wrap(err error) error {
	if err == nil {
		return nil
	}
	out := &redactedError{msg: r.redact(err.Error())}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		out.cause = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		out.cause = context.Canceled
	}
	return out
}
