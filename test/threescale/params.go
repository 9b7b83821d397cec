package threescalesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// params are the request parameters (query and body) after porta's wrap_parameters:
// `name=x`, `service[name]=x`, {"name":"x"} and {"service":{"name":"x"}} all give
// m["name"] == "x". Bracketed keys such as annotations[k]=v become nested maps.
type params struct {
	m map[string]any
	// keys are the top-level parameter names as sent (after unwrapping), sorted,
	// recorded for the conformance test.
	keys []string
}

func parseParams(r *http.Request, wrapper string) (params, error) {
	p := params{m: map[string]any{}}
	set := map[string]bool{}
	add := func(k string, v any) {
		if wrapper != "" && strings.HasPrefix(k, wrapper+"[") {
			inner := strings.TrimPrefix(k, wrapper+"[")
			if i := strings.IndexByte(inner, ']'); i >= 0 {
				k = inner[:i] + inner[i+1:]
			}
		}
		base, sub, nested := strings.Cut(k, "[")
		set[base] = true
		if !nested {
			p.m[k] = v
			return
		}
		sub = strings.TrimSuffix(strings.TrimSuffix(sub, "[]"), "]")
		inner, _ := p.m[base].(map[string]any)
		if inner == nil {
			inner = map[string]any{}
			p.m[base] = inner
		}
		inner[sub] = v
	}
	for k, vs := range r.URL.Query() {
		add(k, vs[0])
	}
	if r.Body != nil && r.Method != http.MethodGet {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/json":
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
				return p, fmt.Errorf("invalid JSON body: %w", err)
			}
			for k, v := range body {
				if inner, ok := v.(map[string]any); ok && k == wrapper {
					for ik, iv := range inner {
						add(ik, iv)
					}
					continue
				}
				add(k, v)
			}
		default:
			if err := r.ParseForm(); err != nil {
				return p, fmt.Errorf("invalid form body: %w", err)
			}
			for k, vs := range r.PostForm {
				add(k, vs[0])
			}
		}
	}
	for k := range set {
		p.keys = append(p.keys, k)
	}
	slices.Sort(p.keys)
	return p, nil
}

// str returns the parameter as a string (numbers and booleans formatted) and
// whether it was present.
func (p params) str(k string) (string, bool) {
	v, ok := p.m[k]
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", true
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}

// def returns the parameter or a default when absent.
func (p params) def(k, d string) string {
	if v, ok := p.str(k); ok {
		return v
	}
	return d
}

// boolean parses Rails-style booleans ("1", "true").
func (p params) boolean(k string, d bool) bool {
	v, ok := p.str(k)
	if !ok {
		return d
	}
	return v == "1" || v == "true"
}

// hasAny reports whether any non-token parameter was sent, which is what porta's
// params.require(<wrapper>) checks.
func (p params) hasAny() bool {
	for k := range p.m {
		if k != "access_token" {
			return true
		}
	}
	return false
}

// strMap returns a nested map parameter such as annotations[k]=v.
func (p params) strMap(k string) map[string]string {
	inner, ok := p.m[k].(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(inner))
	for ik := range inner {
		out[ik], _ = params{m: inner}.str(ik)
	}
	return out
}

// pathID parses a numeric path wildcard; 0 when it is not a number (porta answers
// 404, which a lookup of id 0 gives).
func pathID(r *http.Request, name string) int64 {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// intParam parses an integer parameter.
func (p params) intParam(k string) (int, bool, error) {
	v, ok := p.str(k)
	if !ok || v == "" {
		return 0, ok, nil
	}
	n, err := strconv.Atoi(v)
	return n, true, err
}

// locationURL returns the absolute URL of a created object for the Location header.
func locationURL(r *http.Request, path string) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: path}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u.String()
}
