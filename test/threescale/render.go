package threescalesim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// call is one request being handled, with helpers that write porta's responses in
// the requested format.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	format string
	p      params
	now    time.Time
}

// obj is one rendered entity's attributes.
type obj = map[string]any

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (c *call) writeXML(status int, root string, body any) {
	c.w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	c.w.WriteHeader(status)
	var b strings.Builder
	b.WriteString(xml.Header)
	writeXMLElement(&b, root, body)
	_, _ = c.w.Write([]byte(b.String()))
}

// entity writes {"<root>":{...}} or <root>...</root>.
func (c *call) entity(status int, root string, o obj) {
	if c.format == formatXML {
		c.writeXML(status, root, o)
		return
	}
	writeJSON(c.w, status, obj{root: o})
}

// created writes 201 with a Location header, like porta's responder on POST.
func (c *call) created(root string, o obj, path string) {
	c.w.Header().Set("Location", locationURL(c.r, path))
	c.entity(http.StatusCreated, root, o)
}

// pageMeta is porta's pagination metadata block.
type pageMeta struct {
	PerPage      int `json:"per_page"`
	TotalEntries int `json:"total_entries"`
	TotalPages   int `json:"total_pages"`
	CurrentPage  int `json:"current_page"`
}

// collection writes {"<plural>":[{"<root>":{...}}], "metadata":{...}}.
func (c *call) collection(plural, root string, items []obj, meta *pageMeta) {
	if c.format == formatXML {
		wrapped := make([]any, 0, len(items))
		for _, it := range items {
			wrapped = append(wrapped, xmlNamed{root, it})
		}
		c.writeXML(http.StatusOK, plural, wrapped)
		return
	}
	list := make([]obj, 0, len(items))
	for _, it := range items {
		list = append(list, obj{root: it})
	}
	body := obj{plural: list}
	if meta != nil {
		body["metadata"] = meta
	}
	writeJSON(c.w, http.StatusOK, body)
}

// deleted writes porta's DELETE success: 200 with an empty body.
func (c *call) deleted() { c.w.WriteHeader(http.StatusOK) }

// notFound writes 404: {"status":"Not found"} in JSON, an empty body in XML.
func (c *call) notFound() {
	if c.format == formatXML {
		c.w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(c.w, http.StatusNotFound, obj{"status": "Not found"})
}

// missing writes 400 text/plain for params.require.
func (c *call) missing(name string) {
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.WriteHeader(http.StatusBadRequest)
	_, _ = fmt.Fprintf(c.w, "Required parameter missing: %s", name)
}

// errorMessage writes render_error: {"error":"msg"} or <error>msg</error>.
func (c *call) errorMessage(status int, msg string) {
	if c.format == formatXML {
		c.writeXML(status, "error", msg)
		return
	}
	writeJSON(c.w, status, obj{"error": msg})
}

// fieldErrors are ActiveModel errors: attribute -> messages.
type fieldErrors map[string][]string

func (e fieldErrors) add(field, msg string) { e[field] = append(e[field], msg) }

// invalid writes 422 with the validation errors.
func (c *call) invalid(errs fieldErrors) { c.fieldErrors(http.StatusUnprocessableEntity, errs) }

// fieldErrors writes {"errors":{...}} in JSON or <errors><error>Full message</error>
// </errors> in XML, with the given status (403 for refused deletes).
func (c *call) fieldErrors(status int, errs fieldErrors) {
	if c.format == formatXML {
		var full []any
		for _, k := range slices.Sorted(maps.Keys(errs)) {
			for _, m := range errs[k] {
				full = append(full, xmlNamed{"error", fullMessage(k, m)})
			}
		}
		c.writeXML(status, "errors", full)
		return
	}
	writeJSON(c.w, status, obj{"errors": errs})
}

// fullMessage is Rails' full_message: "System name has already been taken".
func fullMessage(attr, msg string) string {
	if attr == "base" {
		return msg
	}
	h := strings.ReplaceAll(attr, "_", " ")
	return strings.ToUpper(h[:1]) + h[1:] + " " + msg
}

// paginate applies porta's pagination filter: page default 1 (invalid or <1 gives
// 1), per_page 1..500 default 500 with out-of-range values falling back to 500.
// The metadata block is returned only when per_page < total entries.
func paginate[T any](c *call, items []T) ([]T, *pageMeta) {
	page, err := strconv.Atoi(c.p.def("page", "1"))
	if err != nil || page < 1 {
		page = 1
	}
	per, err := strconv.Atoi(c.p.def("per_page", "500"))
	if err != nil || per < 1 || per > 500 {
		per = 500
	}
	total := len(items)
	var meta *pageMeta
	if per < total {
		meta = &pageMeta{PerPage: per, TotalEntries: total, TotalPages: (total + per - 1) / per, CurrentPage: page}
	}
	start := min((page-1)*per, total)
	end := min(start+per, total)
	return items[start:end], meta
}

// xmlNamed is an element with an explicit name inside a list.
type xmlNamed struct {
	name  string
	value any
}

// writeXMLElement renders maps as child elements (sorted keys), lists as repeated
// children and scalars as escaped text. Links are JSON-only in porta and skipped.
func writeXMLElement(b *strings.Builder, name string, v any) {
	switch x := v.(type) {
	case xmlNamed:
		writeXMLElement(b, x.name, x.value)
		return
	case nil:
		fmt.Fprintf(b, "<%s/>", name)
		return
	}
	fmt.Fprintf(b, "<%s>", name)
	switch x := v.(type) {
	case obj:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if k == "links" {
				continue
			}
			writeXMLElement(b, k, x[k])
		}
	case []any:
		for _, it := range x {
			writeXMLElement(b, "item", it)
		}
	case map[string]string:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			writeXMLElement(b, k, x[k])
		}
	case string:
		_ = xml.EscapeText(b, []byte(x))
	default:
		if raw, err := json.Marshal(x); err == nil {
			_ = xml.EscapeText(b, []byte(strings.Trim(string(raw), `"`)))
		}
	}
	fmt.Fprintf(b, "</%s>", name)
}

// ts formats a timestamp like porta's JSON (ISO 8601 with offset).
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// link is one entry of a Roar "links" array.
func link(rel, href string) obj { return obj{"rel": rel, "href": href} }
