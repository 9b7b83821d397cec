package report_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
)

func TestPrinter(t *testing.T) {
	actions := []report.Action{
		{Verb: report.VerbCreate, Kind: "Secret", Name: "ns/a"},
		{Verb: report.VerbUpdate, Kind: "settings", Name: "tenant", Fields: []string{"signups_enabled", "useraccountarea_enabled"}},
		{Verb: report.VerbSkip, Kind: "APIManager", Name: "ns/am", Reason: "user managed"},
	}
	for _, tc := range []struct {
		dryRun bool
		want   string
	}{
		{false, "create Secret ns/a\nupdate settings tenant (signups_enabled, useraccountarea_enabled)\nskip APIManager ns/am: user managed\nwaiting\n"},
		{true, "(dry run) create Secret ns/a\n(dry run) update settings tenant (signups_enabled, useraccountarea_enabled)\n(dry run) skip APIManager ns/am: user managed\n(dry run) waiting\n"},
	} {
		var b bytes.Buffer
		p := report.Printer{W: &b, DryRun: tc.dryRun}
		for _, a := range actions {
			p.Action(a)
		}
		p.Line("waiting")
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("dry run %v (-want +got):\n%s", tc.dryRun, diff)
		}
	}
	report.Printer{}.Line("discarded")
}
