// Package report is the vocabulary every bootstrap step reports in: one Action per
// object the step looked at, saying what it did (or, in a dry run, would do) and why
// it skipped. It is a leaf package so that every step can share it.
package report

import (
	"fmt"
	"io"
	"strings"
)

// Verb is what a step did, or in a dry run would do, to one object.
type Verb string

const (
	// VerbCreate means the object was missing and is created.
	VerbCreate Verb = "create"
	// VerbUpdate means the object drifted and its drifted fields are written.
	VerbUpdate Verb = "update"
	// VerbDelete means the object is deleted.
	VerbDelete Verb = "delete"
	// VerbUnchanged means the object already matches and nothing is written.
	VerbUnchanged Verb = "unchanged"
	// VerbSkip means the step leaves the object alone; Action.Reason says why.
	VerbSkip Verb = "skip"
)

// Action is one entry of what a step did or plans.
type Action struct {
	Verb Verb
	Kind string
	Name string
	// Fields are the drifted fields of an update, in a stable order. They name
	// fields, never their values.
	Fields []string
	// Reason explains a skip.
	Reason string
}

// String describes the action, for example "update client 3scale (redirectUris)" or
// "skip APIManager maas/apimanager: not managed by maas-webhook".
func (a Action) String() string {
	s := fmt.Sprintf("%s %s %s", a.Verb, a.Kind, a.Name)
	if len(a.Fields) > 0 {
		s += " (" + strings.Join(a.Fields, ", ") + ")"
	}
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s
}

// Printer prints actions and progress lines, one per line, prefixing each with
// "(dry run) " in a dry run.
type Printer struct {
	// W receives the lines; nil discards them.
	W io.Writer
	// DryRun prefixes every line.
	DryRun bool
}

// Action prints one action.
func (p Printer) Action(a Action) { p.Line(a.String()) }

// Line prints one line of text.
func (p Printer) Line(s string) {
	if p.W == nil {
		return
	}
	if p.DryRun {
		s = "(dry run) " + s
	}
	fmt.Fprintln(p.W, s)
}
