// Package keycloak is the Keycloak / Red Hat SSO step of the bootstrap job. One
// idempotent pass through the admin API (with gocloak) prepares the realm that the 3scale
// developer portal signs developers in with: the realm, the confidential "3scale" client,
// its "email verified" and "org_name" protocol mappers and an optional upstream identity
// provider. It writes only what is missing or drifted, reports what it created, updated
// and left unchanged, and returns the client credentials for the caller to store in a
// Kubernetes Secret. A dry run reads and plans but writes nothing.
package keycloak

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/Nerzal/gocloak/v13"
	"github.com/go-logr/logr"
	"github.com/go-resty/resty/v2"
)

// defaultTimeout bounds each request when Options.HTTPClient is not set.
const defaultTimeout = 30 * time.Second

// Step is the Keycloak step of the bootstrap job, built from validated Options.
type Step struct {
	opts Options
	gc   *gocloak.GoCloak
}

// New defaults and validates opts and returns the step. It makes no request.
func New(opts Options) (*Step, error) {
	opts.Default()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.IdentityProvider != nil {
		idp := *opts.IdentityProvider
		idp.Config = maps.Clone(idp.Config)
		opts.IdentityProvider = &idp
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	gc := gocloak.NewClient(opts.apiURL())
	gc.SetRestyClient(resty.NewWithClient(hc))
	return &Step{opts: opts, gc: gc}, nil
}

// Run makes one pass: it logs in, ensures the realm, the client, its mappers and the
// identity provider, and reads back the client secret. On error the Result holds the
// actions taken before it. The logger comes from ctx; secrets are never logged.
func (s *Step) Run(ctx context.Context) (Result, error) {
	log := logr.FromContextOrDiscard(ctx).WithValues("realm", s.opts.Realm, "dryRun", s.opts.DryRun)
	ctx = logr.NewContext(ctx, log)
	r := &run{
		opts: s.opts,
		log:  log,
		sess: &session{gc: s.gc, admin: s.opts.Admin},
		result: Result{
			DryRun:   s.opts.DryRun,
			ClientID: ClientID,
			RealmURL: s.opts.RealmURL(),
		},
	}
	err := r.reconcile(ctx)
	return r.result, err
}

// run is the state of one pass.
type run struct {
	opts   Options
	log    logr.Logger
	sess   *session
	result Result
}

func (r *run) reconcile(ctx context.Context) error {
	if err := r.sess.login(ctx); err != nil {
		return err
	}
	realmExists, err := r.ensureRealm(ctx)
	if err != nil {
		return err
	}
	if !realmExists {
		// Dry run with the realm missing: nothing in it can be read, everything is created.
		r.record(createClientActions()...)
		if idp := r.opts.IdentityProvider; idp != nil {
			r.record(Action{Verb: VerbCreate, Kind: KindIdentityProvider, Name: idp.Alias})
		}
		return nil
	}
	clientUUID, err := r.ensureClient(ctx)
	if err != nil {
		return err
	}
	if err := r.ensureIdentityProvider(ctx); err != nil {
		return err
	}
	if clientUUID == "" || r.opts.DryRun {
		return nil
	}
	return r.readClientSecret(ctx, clientUUID)
}

// record appends actions to the result and logs them.
func (r *run) record(actions ...Action) {
	for _, a := range actions {
		r.result.Actions = append(r.result.Actions, a)
		log := r.log
		if a.Verb == VerbUnchanged {
			log = log.V(1)
		}
		log.Info("Keycloak bootstrap action", "verb", a.Verb, "kind", a.Kind, "name", a.Name, "fields", a.Fields)
	}
}

// apply runs write for a create or update, unless this is a dry run, and records a
// once it is done (or planned).
func (r *run) apply(a Action, write func() error) error {
	if !r.opts.DryRun {
		if err := write(); err != nil {
			return err
		}
	}
	r.record(a)
	return nil
}

// ensureRealm reports whether the realm exists once it returns (false only in a dry run).
func (r *run) ensureRealm(ctx context.Context) (bool, error) {
	name := r.opts.Realm
	err := r.sess.do(ctx, func(token string) error {
		_, err := r.sess.gc.GetRealm(ctx, token, name)
		return err
	})
	switch {
	case err == nil:
		r.record(Action{Verb: VerbUnchanged, Kind: KindRealm, Name: name})
		return true, nil
	case !isStatus(err, http.StatusNotFound):
		return false, fmt.Errorf("get realm %q: %w", name, err)
	}
	err = r.apply(Action{Verb: VerbCreate, Kind: KindRealm, Name: name}, func() error {
		return r.sess.do(ctx, func(token string) error {
			_, err := r.sess.gc.CreateRealm(ctx, token, gocloak.RealmRepresentation{
				Realm:       gocloak.StringP(name),
				DisplayName: gocloak.StringP(r.opts.RealmDisplayName),
				// A realm created without "enabled" is disabled.
				Enabled: gocloak.BoolP(true),
			})
			return err
		})
	})
	if err != nil {
		return false, fmt.Errorf("create realm %q: %w", name, err)
	}
	return !r.opts.DryRun, nil
}

// createClientActions are the actions of creating the client: its mappers are created
// with it, in the same request.
func createClientActions() []Action {
	actions := []Action{{Verb: VerbCreate, Kind: KindClient, Name: ClientID}}
	for _, m := range desiredMappers() {
		actions = append(actions, Action{Verb: VerbCreate, Kind: KindProtocolMapper, Name: *m.Name})
	}
	return actions
}

// ensureClient ensures the client and its mappers and returns the client's uuid ("" when
// a dry run plans to create it).
func (r *run) ensureClient(ctx context.Context) (string, error) {
	realm := r.opts.Realm
	var clients []*gocloak.Client
	err := r.sess.do(ctx, func(token string) (err error) {
		clients, err = r.sess.gc.GetClients(ctx, token, realm, gocloak.GetClientsParams{ClientID: gocloak.StringP(ClientID)})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("find client %q in realm %q: %w", ClientID, realm, err)
	}
	want := r.opts.desiredClient()

	if len(clients) == 0 {
		if r.opts.DryRun {
			r.record(createClientActions()...)
			return "", nil
		}
		mappers := desiredMappers()
		want.ProtocolMappers = &mappers
		var id string
		err := r.sess.do(ctx, func(token string) (err error) {
			id, err = r.sess.gc.CreateClient(ctx, token, realm, want)
			return err
		})
		if err == nil && id == "" {
			err = errors.New("no Location header in the response")
		}
		if err != nil {
			return "", fmt.Errorf("create client %q in realm %q: %w", ClientID, realm, err)
		}
		r.record(createClientActions()...)
		return id, nil
	}

	got := clients[0]
	id := gocloak.PString(got.ID)
	if fields := clientDrift(want, *got); len(fields) == 0 {
		r.record(Action{Verb: VerbUnchanged, Kind: KindClient, Name: ClientID})
	} else {
		// A client update merges, so sending only the fields the step owns keeps the rest.
		want.ID = got.ID
		err := r.apply(Action{Verb: VerbUpdate, Kind: KindClient, Name: ClientID, Fields: fields}, func() error {
			return r.sess.do(ctx, func(token string) error { return r.sess.gc.UpdateClient(ctx, token, realm, want) })
		})
		if err != nil {
			return "", fmt.Errorf("update client %q in realm %q: %w", ClientID, realm, err)
		}
	}
	var existing []gocloak.ProtocolMapperRepresentation
	if got.ProtocolMappers != nil {
		existing = *got.ProtocolMappers
	}
	return id, r.ensureMappers(ctx, id, existing)
}

// ensureMappers creates the missing mappers of the client and updates the drifted ones.
func (r *run) ensureMappers(ctx context.Context, clientUUID string, existing []gocloak.ProtocolMapperRepresentation) error {
	realm := r.opts.Realm
	for _, want := range desiredMappers() {
		name := *want.Name
		got := findMapper(existing, name)
		switch {
		case got == nil:
			err := r.apply(Action{Verb: VerbCreate, Kind: KindProtocolMapper, Name: name}, func() error {
				return r.sess.do(ctx, func(token string) error {
					_, err := r.sess.gc.CreateClientProtocolMapper(ctx, token, realm, clientUUID, want)
					return err
				})
			})
			if err != nil {
				return fmt.Errorf("create protocol mapper %q of client %q in realm %q: %w", name, ClientID, realm, err)
			}
		case gocloak.PString(got.Protocol) != gocloak.PString(want.Protocol):
			// An update cannot change the protocol; replacing someone's mapper is not ours to do.
			return fmt.Errorf("protocol mapper %q of client %q in realm %q has protocol %q, want %q: delete it to let the bootstrap recreate it",
				name, ClientID, realm, gocloak.PString(got.Protocol), gocloak.PString(want.Protocol))
		default:
			fields := mapperDrift(want, *got)
			if len(fields) == 0 {
				r.record(Action{Verb: VerbUnchanged, Kind: KindProtocolMapper, Name: name})
				continue
			}
			// An update replaces the config: keep the keys Keycloak or an admin added.
			update := want
			update.ID = got.ID
			update.Config = mergedConfig(got.Config, *want.Config)
			err := r.apply(Action{Verb: VerbUpdate, Kind: KindProtocolMapper, Name: name, Fields: fields}, func() error {
				return r.sess.do(ctx, func(token string) error {
					return r.sess.gc.UpdateClientProtocolMapper(ctx, token, realm, clientUUID, *got.ID, update)
				})
			})
			if err != nil {
				return fmt.Errorf("update protocol mapper %q of client %q in realm %q: %w", name, ClientID, realm, err)
			}
		}
	}
	return nil
}

// ensureIdentityProvider creates or updates the optional identity provider. gocloak v13's
// IdentityProviderRepresentation lacks fields newer Keycloak has (hideOnLogin, ...) and an
// update replaces the whole representation, so it is read and written as raw JSON to
// keep them.
func (r *run) ensureIdentityProvider(ctx context.Context) error {
	idp := r.opts.IdentityProvider
	if idp == nil {
		return nil
	}
	realm := r.opts.Realm
	instanceURL := r.opts.apiURL() + "/admin/realms/" + url.PathEscape(realm) + "/identity-provider/instances/" + url.PathEscape(idp.Alias)
	var got map[string]any
	err := r.sess.doJSON(ctx, http.MethodGet, instanceURL, nil, &got)
	switch {
	case isStatus(err, http.StatusNotFound):
		err := r.apply(Action{Verb: VerbCreate, Kind: KindIdentityProvider, Name: idp.Alias}, func() error {
			return r.sess.do(ctx, func(token string) error {
				_, err := r.sess.gc.CreateIdentityProvider(ctx, token, realm, desiredIdentityProvider(*idp))
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("create identity provider %q in realm %q: %w", idp.Alias, realm, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("get identity provider %q in realm %q: %w", idp.Alias, realm, err)
	}

	if providerID, _ := got["providerId"].(string); providerID != idp.ProviderID {
		return fmt.Errorf("identity provider %q in realm %q has providerId %q, want %q: delete it to let the bootstrap recreate it",
			idp.Alias, realm, providerID, idp.ProviderID)
	}
	fields := identityProviderDrift(*idp, got)
	if len(fields) == 0 {
		r.record(Action{Verb: VerbUnchanged, Kind: KindIdentityProvider, Name: idp.Alias})
		return nil
	}
	err = r.apply(Action{Verb: VerbUpdate, Kind: KindIdentityProvider, Name: idp.Alias, Fields: fields}, func() error {
		return r.sess.doJSON(ctx, http.MethodPut, instanceURL, updatedIdentityProvider(*idp, got), nil)
	})
	if err != nil {
		return fmt.Errorf("update identity provider %q in realm %q: %w", idp.Alias, realm, err)
	}
	return nil
}

// readClientSecret reads the client secret into the result.
func (r *run) readClientSecret(ctx context.Context, clientUUID string) error {
	var cred *gocloak.CredentialRepresentation
	err := r.sess.do(ctx, func(token string) (err error) {
		cred, err = r.sess.gc.GetClientSecret(ctx, token, r.opts.Realm, clientUUID)
		return err
	})
	if err == nil && gocloak.PString(cred.Value) == "" {
		err = errors.New("no secret in the response")
	}
	if err != nil {
		return fmt.Errorf("get secret of client %q in realm %q: %w", ClientID, r.opts.Realm, err)
	}
	r.result.ClientSecret = *cred.Value
	return nil
}
