// Package bootstrap is the one-shot job `webhook bootstrap` runs when the chart is
// installed and again on upgrade: a single idempotent pass over Keycloak (the realm
// the developer portal signs in with, its client's credentials stored in a Secret),
// cert-manager (the webhook's certificate), the 3scale operator's APIManager and
// CustomPolicyDefinition, and the 3scale tenant (SSO integration, open portal,
// settings). Every step writes only on difference and reports each object it looked
// at; a dry run reads everything it can and prints the plan. Secrets are read from and
// written to Kubernetes Secrets only, and never reach the output, logs or errors.
package bootstrap

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/certmanager"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/kube"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/operator"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/tenant"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// Kinds the orchestrator itself reports on.
const (
	// KindSecret is a Kubernetes Secret.
	KindSecret = "Secret"
	// KindTenant is the 3scale tenant as a whole, when its step is skipped.
	KindTenant = "3scale tenant"
)

// NewScheme returns the scheme the job's client needs: client-go's types and
// cert-manager's.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}
	if err := cmapi.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}
	return s, nil
}

// Options configure one run.
type Options struct {
	// Config is the parsed configuration.
	Config Config
	// Client talks to the API server; its scheme comes from NewScheme.
	Client client.Client
	// DryRun plans: every step reads but nothing is written anywhere.
	DryRun bool
	// Out receives one line per action and the progress of waits; nil discards them.
	Out io.Writer
	// HTTPClient, when set, is used for Keycloak and 3scale (custom CAs, proxies).
	HTTPClient *http.Client
}

// Run makes one pass and returns every action, in order, including those taken
// before an error. The logger comes from ctx.
func Run(ctx context.Context, opts Options) ([]report.Action, error) {
	r := &run{
		opts: opts,
		cfg:  opts.Config,
		out:  report.Printer{W: opts.Out, DryRun: opts.DryRun},
		log:  logr.FromContextOrDiscard(ctx).WithValues("dryRun", opts.DryRun),
	}
	ctx = logr.NewContext(ctx, r.log)
	err := r.reconcile(ctx)
	return r.actions, err
}

type run struct {
	opts    Options
	cfg     Config
	out     report.Printer
	log     logr.Logger
	actions []report.Action
}

func (r *run) record(step string, actions ...report.Action) {
	for _, a := range actions {
		r.actions = append(r.actions, a)
		r.out.Action(a)
		r.log.V(1).Info("Bootstrap action", "step", step, "verb", a.Verb, "kind", a.Kind, "name", a.Name, "fields", a.Fields)
	}
}

func (r *run) reconcile(ctx context.Context) error {
	sso, err := r.keycloak(ctx)
	if err != nil {
		return err
	}
	if err := r.certManager(ctx); err != nil {
		return err
	}
	ready, err := r.operator(ctx)
	if err != nil || !ready {
		return err
	}
	return r.tenant(ctx, sso)
}

// keycloak runs the Keycloak step and stores the client's credentials; it returns the
// SSO integration the tenant step configures.
func (r *run) keycloak(ctx context.Context) (tenant.SSO, error) {
	kc := r.cfg.Keycloak
	ns := r.cfg.Namespace
	opts := keycloak.Options{
		BaseURL:          kc.URL,
		BasePath:         kc.BasePath,
		Realm:            kc.Realm,
		RealmDisplayName: kc.RealmDisplayName,
		PortalHost:       r.cfg.ThreeScale.PortalHost,
		DryRun:           r.opts.DryRun,
		HTTPClient:       r.opts.HTTPClient,
	}
	id, err := kube.ReadSecretKey(ctx, r.opts.Client, ns, kc.AdminSecret.Name, kc.AdminSecret.IDKey)
	if err != nil {
		return tenant.SSO{}, fmt.Errorf("read the Keycloak admin credentials: %w", err)
	}
	secret, err := kube.ReadSecretKey(ctx, r.opts.Client, ns, kc.AdminSecret.Name, kc.AdminSecret.SecretKey)
	if err != nil {
		return tenant.SSO{}, fmt.Errorf("read the Keycloak admin credentials: %w", err)
	}
	if kc.AdminSecret.Grant == GrantClientCredentials {
		opts.Admin = keycloak.AdminCredentials{ClientID: id, ClientSecret: secret}
	} else {
		opts.Admin = keycloak.AdminCredentials{Username: id, Password: secret}
	}
	if idp := kc.IdentityProvider; idp != nil {
		s, err := kube.ReadSecretKey(ctx, r.opts.Client, ns, idp.ClientSecret.Name, idp.ClientSecret.Key)
		if err != nil {
			return tenant.SSO{}, fmt.Errorf("identity provider %q client secret: %w", idp.Alias, err)
		}
		opts.IdentityProvider = &keycloak.IdentityProvider{
			Alias: idp.Alias, ProviderID: idp.ProviderID, ClientID: idp.ClientID, ClientSecret: s,
			Config: maps.Clone(idp.Config),
		}
	}
	step, err := keycloak.New(opts)
	if err != nil {
		return tenant.SSO{}, fmt.Errorf("keycloak step: %w", err)
	}
	res, err := step.Run(ctx)
	r.record("keycloak", res.Actions...)
	if err != nil {
		return tenant.SSO{}, fmt.Errorf("keycloak step: %w", err)
	}
	data := res.SecretData()
	if res.ClientSecret == "" {
		// A dry run does not read the client secret: plan with the stored one, if any.
		stored, err := r.storedSecret(ctx, kc.ClientSecretName)
		if err != nil {
			return tenant.SSO{}, err
		}
		data[keycloak.SecretKeyClientSecret] = string(stored[keycloak.SecretKeyClientSecret])
	}
	if err := r.storeClientSecret(ctx, data); err != nil {
		return tenant.SSO{}, err
	}
	return tenant.SSO{
		Name:         r.cfg.ThreeScale.SSOName,
		ClientID:     data[keycloak.SecretKeyClientID],
		ClientSecret: data[keycloak.SecretKeyClientSecret],
		Site:         data[keycloak.SecretKeyRealmURL],
	}, nil
}

// storedSecret returns the data of a Secret in the namespace, nil when it is absent.
func (r *run) storedSecret(ctx context.Context, name string) (map[string][]byte, error) {
	var s corev1.Secret
	err := r.opts.Client.Get(ctx, client.ObjectKey{Namespace: r.cfg.Namespace, Name: name}, &s)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get Secret %s/%s: %w", r.cfg.Namespace, name, err)
	}
	return s.Data, nil
}

// storeClientSecret creates or updates (on difference) the Secret with the portal
// client's credentials. A key whose value is unknown (a dry run that never stored the
// secret) is not compared.
func (r *run) storeClientSecret(ctx context.Context, data map[string]string) error {
	desired := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.cfg.Namespace, Name: r.cfg.Keycloak.ClientSecretName},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		desired.Data[k] = []byte(v)
	}
	a, err := kube.Ensure(ctx, r.opts.Client, r.opts.DryRun, kube.Object[*corev1.Secret]{
		Kind: KindSecret, Desired: desired, Adopt: true,
		Drift: func(live *corev1.Secret) []string {
			var fields []string
			for _, k := range slices.Sorted(maps.Keys(data)) {
				if data[k] == "" || string(live.Data[k]) == data[k] {
					continue
				}
				if live.Data == nil {
					live.Data = map[string][]byte{}
				}
				live.Data[k] = []byte(data[k])
				fields = append(fields, "data."+k)
			}
			return fields
		},
	})
	if err != nil {
		return err
	}
	r.record("keycloak", a)
	return nil
}

func (r *run) certManager(ctx context.Context) error {
	cm := r.cfg.CertManager
	if cm == nil {
		return nil
	}
	installed, err := certmanager.Installed(r.opts.Client)
	if err != nil {
		return err
	}
	if !installed {
		r.record("cert-manager", report.Action{
			Verb: report.VerbSkip, Kind: cmapi.CertificateKind, Name: r.cfg.Namespace + "/" + cm.ServiceName,
			Reason: "cert-manager is not installed (its CRDs are not served)",
		})
		return nil
	}
	actions, err := certmanager.Ensure(ctx, r.opts.Client, certmanager.Options{
		Namespace: r.cfg.Namespace, ServiceName: cm.ServiceName, SecretName: cm.SecretName, IssuerRef: cm.IssuerRef,
	}, r.opts.DryRun)
	r.record("cert-manager", actions...)
	if err != nil {
		return fmt.Errorf("cert-manager step: %w", err)
	}
	return nil
}

// operator ensures the operator's objects and waits for the APIManager. It reports
// whether the tenant can be configured: false only in a dry run whose APIManager is
// planned or not yet available.
func (r *run) operator(ctx context.Context) (bool, error) {
	op := r.cfg.Operator
	if op == nil {
		return true, nil
	}
	opts := operator.Options{
		Namespace: op.Namespace,
		APIManager: operator.APIManager{
			Name: op.APIManager.Name, WildcardDomain: op.APIManager.WildcardDomain,
			TenantName: op.APIManager.TenantName, FileStorageClass: op.APIManager.FileStorageClass,
		},
		Policy: operator.Policy{
			Name: op.Policy.Name, Version: op.Policy.Version, SecretName: op.Policy.SecretName,
			Summary: op.Policy.Summary, Description: op.Policy.Description, Configuration: op.Policy.Configuration,
		},
	}
	actions, err := operator.Ensure(ctx, r.opts.Client, opts, r.opts.DryRun)
	r.record("operator", actions...)
	if err != nil {
		return false, fmt.Errorf("3scale operator step: %w", err)
	}
	key := opts.APIManagerKey()
	if r.opts.DryRun {
		// A dry run must not wait for what it does not create: it looks once.
		if actions[len(actions)-1].Verb == report.VerbCreate {
			return r.skipTenant("the APIManager is not created yet"), nil
		}
		ok, state, err := operator.Availability(ctx, r.opts.Client, key)
		if err != nil || ok {
			return ok, err
		}
		return r.skipTenant("the APIManager is not Available yet: " + state), nil
	}
	r.log.Info("Waiting for the APIManager to become Available", "apiManager", key, "timeout", op.AvailableTimeout.Duration)
	err = operator.WaitAvailable(ctx, r.opts.Client, key,
		operator.Wait{Timeout: op.AvailableTimeout.Duration, Interval: op.PollInterval.Duration}, r.out.Line)
	if err != nil {
		return false, fmt.Errorf("3scale operator step: %w", err)
	}
	return true, nil
}

func (r *run) skipTenant(reason string) bool {
	r.record("tenant", report.Action{Verb: report.VerbSkip, Kind: KindTenant, Name: r.cfg.ThreeScale.AdminURL, Reason: reason})
	return false
}

// accessToken reads the tenant's admin access token from the configured Secret, else
// from the operator's system-seed Secret.
func (r *run) accessToken(ctx context.Context) (string, error) {
	if ref := r.cfg.ThreeScale.AccessTokenSecret; ref != nil {
		return kube.ReadSecretKey(ctx, r.opts.Client, r.cfg.Namespace, ref.Name, ref.Key)
	}
	return kube.ReadSecretKey(ctx, r.opts.Client, r.cfg.Operator.Namespace, SystemSeedSecret, SystemSeedTokenKey)
}

func (r *run) tenant(ctx context.Context, sso tenant.SSO) error {
	token, err := r.accessToken(ctx)
	if err != nil {
		return fmt.Errorf("3scale access token: %w", err)
	}
	c, err := threescale.New(ctx, threescale.Options{AdminURL: r.cfg.ThreeScale.AdminURL, Token: token, HTTPClient: r.opts.HTTPClient})
	if err != nil {
		return fmt.Errorf("3scale tenant step: %w", err)
	}
	actions, err := tenant.Ensure(ctx, c, tenant.Options{SSO: sso, RemoveDefaultAPI: r.cfg.ThreeScale.RemoveDefaultAPI}, r.opts.DryRun)
	r.record("tenant", actions...)
	if err != nil {
		return fmt.Errorf("3scale tenant step: %w", err)
	}
	return nil
}
