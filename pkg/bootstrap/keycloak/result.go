package keycloak

import (
	"strings"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
)

// Verb is what the step did, or in a dry run would do, to one object.
type Verb = report.Verb

const (
	// VerbCreate means the object was missing and is created.
	VerbCreate = report.VerbCreate
	// VerbUpdate means the object drifted and its drifted fields are written.
	VerbUpdate = report.VerbUpdate
	// VerbUnchanged means the object already matches and nothing is written.
	VerbUnchanged = report.VerbUnchanged
)

// Kinds of the objects the step manages, as Action.Kind names them.
const (
	// KindRealm is the realm.
	KindRealm = "realm"
	// KindClient is the portal's client.
	KindClient = "client"
	// KindProtocolMapper is a protocol mapper of the client.
	KindProtocolMapper = "protocol mapper"
	// KindIdentityProvider is the upstream identity provider.
	KindIdentityProvider = "identity provider"
)

// Action is one entry of what the step did or plans; the whole bootstrap job
// reports in the same type.
type Action = report.Action

// Keys of Result.SecretData; CLIENT_ID and CLIENT_SECRET are the keys the legacy RH-SSO
// operator writes too.
const (
	// SecretKeyClientID holds the clientId of the portal's client.
	SecretKeyClientID = "CLIENT_ID"
	// SecretKeyClientSecret holds the client secret.
	SecretKeyClientSecret = "CLIENT_SECRET"
	// SecretKeyRealmURL holds the realm URL the portal's SSO integration is configured with.
	SecretKeyRealmURL = "REALM_URL"
)

// Result is the outcome of one run.
type Result struct {
	// DryRun is true when the actions are a plan and nothing was written.
	DryRun bool
	// Actions are in the order the step took them.
	Actions []Action
	// ClientID is the clientId of the portal's client.
	ClientID string
	// ClientSecret is the client's secret as Keycloak holds it; empty in a dry run.
	// Store it in a Kubernetes Secret; never log it.
	ClientSecret string
	// RealmURL is the URL of the realm.
	RealmURL string
}

// SecretData returns the data of the Kubernetes Secret the caller stores the client
// credentials in.
func (r Result) SecretData() map[string]string {
	return map[string]string{
		SecretKeyClientID:     r.ClientID,
		SecretKeyClientSecret: r.ClientSecret,
		SecretKeyRealmURL:     r.RealmURL,
	}
}

// String lists the actions, one per line, prefixed with "(dry run) " in a dry run. It
// never includes the client secret, so a Result is safe to print with %v.
func (r Result) String() string {
	var b strings.Builder
	for _, a := range r.Actions {
		if r.DryRun {
			b.WriteString("(dry run) ")
		}
		b.WriteString(a.String())
		b.WriteByte('\n')
	}
	return b.String()
}
