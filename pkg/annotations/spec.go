package annotations

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// DeletionPolicyValue says what happens to the 3scale objects when a model is withdrawn.
type DeletionPolicyValue string

// The deletion policies.
const (
	// DeletionDelete deletes the product, the backend and the ActiveDocs.
	DeletionDelete DeletionPolicyValue = "delete"
	// DeletionOrphan keeps them in 3scale.
	DeletionOrphan DeletionPolicyValue = "orphan"
)

// OpenAPINone is the value of the OpenAPI annotation that turns ActiveDocs off.
const OpenAPINone = "none"

// Route is one HTTP operation of an exposed API family.
type Route struct {
	// Method is the HTTP method.
	Method string
	// Path is the request path.
	Path string
}

// endpointFamilies maps each family of the OpenAI-compatible API to its routes, in the
// order they are exposed.
var endpointFamilies = map[string][]Route{
	"chat":        {{Method: "POST", Path: "/v1/chat/completions"}},
	"completions": {{Method: "POST", Path: "/v1/completions"}},
	"embeddings":  {{Method: "POST", Path: "/v1/embeddings"}},
	"models":      {{Method: "GET", Path: "/v1/models"}},
}

// FamilyOpenAI is the shorthand for all the OpenAI-compatible families.
const FamilyOpenAI = "openai"

// Families lists the API families in their canonical order.
var Families = []string{"chat", "completions", "embeddings", "models"}

// Routes returns the routes of an API family, or nil for an unknown one.
func Routes(family string) []Route { return slices.Clone(endpointFamilies[family]) }

// Spec is the parsed, typed form of a model's maas.io annotations and opt-out labels.
type Spec struct {
	// Expose is true when the model is to be published.
	Expose bool
	// OptOut is true when the object or its namespace carries the opt-out label. It
	// overrides Expose.
	OptOut bool
	// DisplayName is the product name.
	DisplayName string
	// Description is the product description.
	Description string
	// SystemName is the 3scale system name.
	SystemName string
	// Endpoints are the exposed API families, in canonical order.
	Endpoints []string
	// Plans are the application plan names, in the order given.
	Plans []string
	// TokenMetrics is nil when not set.
	TokenMetrics *bool
	// BackendURL overrides the model's private URL when set.
	BackendURL string
	// OpenAPI is a ConfigMap name, OpenAPINone, or empty for a generated document.
	OpenAPI string
	// CORSAllowOrigin is the allowed origin.
	CORSAllowOrigin string
	// DeletionPolicy is empty when not set.
	DeletionPolicy DeletionPolicyValue
	// ForceRemove drops the finalizer without calling 3scale.
	ForceRemove bool
}

// Published reports whether the model should be in 3scale.
func (s Spec) Published() bool { return s.Expose && !s.OptOut }

// Input is what Parse reads.
type Input struct {
	// Annotations of the object.
	Annotations map[string]string
	// Labels of the object.
	Labels map[string]string
	// NamespaceLabels are the labels of the object's namespace; nil when unknown.
	NamespaceLabels map[string]string
}

// MaxSystemNameLength is the longest system name 3scale accepts.
const MaxSystemNameLength = 255

// maxDisplayNameLength is the longest product name 3scale stores.
const maxDisplayNameLength = 255

// systemNameRE is 3scale's system name format (Ruby's \w is ASCII here).
var systemNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_\-/]+$`)

const (
	allowedBool       = `must be "true" or "false"`
	allowedSystemName = `must match ^\w[\w\-/]+$ (letters, digits, "_", "-", "/"; at least 2 characters, at most 255)`
	allowedURL        = "must be an absolute http or https URL with a host"
	allowedOrigin     = `must be "*" or an origin such as https://chat.example.com (scheme, host and optional port)`
	allowedDeletion   = `must be "delete" or "orphan"`
	allowedOpenAPI    = `must be "none" or the name of a ConfigMap in the same namespace (a DNS subdomain)`
	allowedText       = "must not be empty or contain control characters, at most 255 characters"
	allowedDescr      = "must not contain control characters other than newlines and tabs"
)

// allowedEndpoints says what the Endpoints annotation accepts.
var allowedEndpoints = "must be a comma list of " + strings.Join(append(slices.Clone(Families), FamilyOpenAI), ", ")

// Parse reads the maas.io annotations and the opt-out labels. A non-nil error joins one
// *FieldError per bad key, in key order, each wrapping a sentinel.
func Parse(in Input) (Spec, error) {
	var s Spec
	var errs []error
	bad := func(key, value, allowed string) {
		errs = append(errs, &FieldError{Key: key, Value: value, Allowed: allowed, Err: ErrInvalidValue})
	}
	parseBool := func(key, v string) bool {
		switch v {
		case "true":
			return true
		case "false":
			return false
		}
		bad(key, v, allowedBool)
		return false
	}

	for _, key := range sortedKeys(in.Annotations) {
		v := in.Annotations[key]
		switch key {
		case Expose:
			s.Expose = parseBool(key, v)
		case ForceRemove:
			s.ForceRemove = parseBool(key, v)
		case TokenMetrics:
			b := parseBool(key, v)
			s.TokenMetrics = &b
		case DisplayName:
			if !validText(v) {
				bad(key, v, allowedText)
			}
			s.DisplayName = v
		case Description:
			if !validDescription(v) {
				bad(key, v, allowedDescr)
			}
			s.Description = v
		case SystemName:
			if !ValidSystemName(v) {
				bad(key, v, allowedSystemName)
			}
			s.SystemName = v
		case Endpoints:
			s.Endpoints = parseEndpoints(v)
			if s.Endpoints == nil {
				bad(key, v, allowedEndpoints)
			}
		case Plans:
			s.Plans = splitList(v)
			if len(s.Plans) == 0 || slices.ContainsFunc(s.Plans, func(p string) bool { return !ValidSystemName(p) }) {
				bad(key, v, "must be a comma list of plan names, each "+strings.TrimPrefix(allowedSystemName, "must "))
				s.Plans = nil
			}
		case BackendURL:
			if !validURL(v) {
				bad(key, v, allowedURL)
			}
			s.BackendURL = v
		case OpenAPI:
			if v != OpenAPINone && len(validation.IsDNS1123Subdomain(v)) > 0 {
				bad(key, v, allowedOpenAPI)
			}
			s.OpenAPI = v
		case CORSAllowOrigin:
			if !validOrigin(v) {
				bad(key, v, allowedOrigin)
			}
			s.CORSAllowOrigin = v
		case DeletionPolicy:
			s.DeletionPolicy = DeletionPolicyValue(v)
			if s.DeletionPolicy != DeletionDelete && s.DeletionPolicy != DeletionOrphan {
				bad(key, v, allowedDeletion)
			}
		default:
			if strings.HasPrefix(key, Prefix) {
				fe := &FieldError{Key: key, Value: v, Allowed: "known keys are " + strings.Join(inputKeys, ", "), Err: ErrUnknownKey}
				if h := suggest(key); h != "" {
					fe.Hint = "did you mean " + h + "?"
					fe.Allowed = ""
				}
				errs = append(errs, fe)
			}
		}
	}

	for _, l := range []struct {
		labels map[string]string
		where  string
	}{{in.Labels, "label"}, {in.NamespaceLabels, "namespace label"}} {
		v, ok := l.labels[OptOut]
		if !ok {
			continue
		}
		switch v {
		case "true":
			s.OptOut = true
		case "false":
		default:
			errs = append(errs, &FieldError{Key: OptOut, Value: v, Allowed: l.where + " " + allowedBool, Err: ErrInvalidValue})
		}
	}
	if len(errs) > 0 {
		return s, errors.Join(errs...)
	}
	return s, nil
}

// Render writes the annotation form of s: Parse of the result gives s back (OptOut,
// which comes from labels, aside). Unset fields are left out.
func Render(s Spec) map[string]string {
	out := map[string]string{Expose: formatBool(s.Expose)}
	put := func(key, v string) {
		if v != "" {
			out[key] = v
		}
	}
	put(DisplayName, s.DisplayName)
	put(Description, s.Description)
	put(SystemName, s.SystemName)
	put(Endpoints, strings.Join(s.Endpoints, ","))
	put(Plans, strings.Join(s.Plans, ","))
	if s.TokenMetrics != nil {
		out[TokenMetrics] = formatBool(*s.TokenMetrics)
	}
	put(BackendURL, s.BackendURL)
	put(OpenAPI, s.OpenAPI)
	put(CORSAllowOrigin, s.CORSAllowOrigin)
	put(DeletionPolicy, string(s.DeletionPolicy))
	if s.ForceRemove {
		out[ForceRemove] = "true"
	}
	return out
}

func formatBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// ValidSystemName reports whether name is a system name 3scale accepts.
func ValidSystemName(name string) bool {
	return len(name) <= MaxSystemNameLength && systemNameRE.MatchString(name)
}

// splitList splits a comma list, trims the items and drops empty and repeated ones,
// keeping the first occurrence's order.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item != "" && !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	return out
}

// parseEndpoints returns the families of a comma list in canonical order, expanding
// "openai", or nil when the list is empty or names an unknown family.
func parseEndpoints(v string) []string {
	items := splitList(v)
	if len(items) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, item := range items {
		item = strings.ToLower(item)
		switch {
		case item == FamilyOpenAI:
			for _, f := range Families {
				want[f] = true
			}
		case endpointFamilies[item] != nil:
			want[item] = true
		default:
			return nil
		}
	}
	var out []string
	for _, f := range Families {
		if want[f] {
			out = append(out, f)
		}
	}
	return out
}

func validURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Hostname() != "" && u.User == nil && strings.TrimSpace(v) == v
}

func validOrigin(v string) bool {
	if v == "*" {
		return true
	}
	u, err := url.Parse(v)
	return err == nil && validURL(v) && (u.Path == "" || u.Path == "/") && u.RawQuery == "" &&
		u.Fragment == "" && !strings.HasSuffix(v, "#") && !strings.HasSuffix(v, "?")
}

func validText(v string) bool {
	if strings.TrimSpace(v) == "" || len([]rune(v)) > maxDisplayNameLength {
		return false
	}
	return !strings.ContainsFunc(v, unicode.IsControl)
}

func validDescription(v string) bool {
	return !strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' })
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
