// Package certmanager is the cert-manager step of the bootstrap job: a Certificate
// for the webhook Service's DNS names, issued by a self-signed Issuer the step creates
// or by an issuer the configuration names, written to the Secret the webhook serves
// TLS with. The step runs only when cert-manager's CRDs are installed.
package certmanager

import (
	"context"
	"fmt"
	"slices"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/kube"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
)

// DefaultSecretName is the Secret the Certificate writes unless Options.SecretName
// says otherwise.
const DefaultSecretName = "maas-webhook-tls"

// Options configure the step.
type Options struct {
	// Namespace is the webhook Service's namespace, where the objects are created.
	Namespace string
	// ServiceName is the webhook Service's name; the Certificate is named after it.
	ServiceName string
	// SecretName is the Secret the Certificate writes (default DefaultSecretName).
	SecretName string
	// IssuerRef, when set, issues the Certificate; otherwise the step creates a
	// self-signed Issuer named "<ServiceName>-selfsigned".
	IssuerRef *cmmeta.IssuerReference
}

// Installed reports whether the API server serves cert-manager's Certificate and
// Issuer kinds.
func Installed(c client.Client) (bool, error) {
	for _, kind := range []string{cmapi.CertificateKind, cmapi.IssuerKind} {
		_, err := c.RESTMapper().RESTMapping(cmapi.SchemeGroupVersion.WithKind(kind).GroupKind(), cmapi.SchemeGroupVersion.Version)
		switch {
		case meta.IsNoMatchError(err):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("discover cert-manager kind %s: %w", kind, err)
		}
	}
	return true, nil
}

// DNSNames are the names the webhook Service answers to inside the cluster.
func DNSNames(service, namespace string) []string {
	return []string{
		service,
		service + "." + namespace,
		service + "." + namespace + ".svc",
		service + "." + namespace + ".svc.cluster.local",
	}
}

func (o Options) secretName() string {
	if o.SecretName != "" {
		return o.SecretName
	}
	return DefaultSecretName
}

// issuerRef is the issuer the Certificate refers to, and the self-signed Issuer to
// ensure (nil when the configuration names one).
func (o Options) issuerRef() (cmmeta.IssuerReference, *cmapi.Issuer) {
	if o.IssuerRef != nil {
		return *o.IssuerRef, nil
	}
	iss := &cmapi.Issuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: o.ServiceName + "-selfsigned"},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}},
	}
	return cmmeta.IssuerReference{Name: iss.Name, Kind: cmapi.IssuerKind, Group: cmapi.SchemeGroupVersion.Group}, iss
}

// Ensure creates the Issuer and the Certificate when absent and updates their owned
// fields on difference; in a dry run it only reads. The client's scheme must know
// cert-manager's types.
func Ensure(ctx context.Context, c client.Client, opts Options, dryRun bool) ([]report.Action, error) {
	ref, issuer := opts.issuerRef()
	var actions []report.Action
	if issuer != nil {
		a, err := kube.Ensure(ctx, c, dryRun, kube.Object[*cmapi.Issuer]{
			Kind: cmapi.IssuerKind, Desired: issuer,
			Drift: func(live *cmapi.Issuer) []string {
				if equality.Semantic.DeepEqual(live.Spec, issuer.Spec) {
					return nil
				}
				live.Spec = issuer.Spec
				return []string{"spec"}
			},
		})
		if err != nil {
			return actions, err
		}
		actions = append(actions, a)
	}
	want := cmapi.CertificateSpec{
		SecretName: opts.secretName(),
		DNSNames:   DNSNames(opts.ServiceName, opts.Namespace),
		IssuerRef:  ref,
	}
	cert := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: opts.Namespace, Name: opts.ServiceName},
		Spec:       want,
	}
	a, err := kube.Ensure(ctx, c, dryRun, kube.Object[*cmapi.Certificate]{
		Kind: cmapi.CertificateKind, Desired: cert,
		Drift: func(live *cmapi.Certificate) []string {
			var fields []string
			if live.Spec.SecretName != want.SecretName {
				live.Spec.SecretName = want.SecretName
				fields = append(fields, "spec.secretName")
			}
			if !slices.Equal(live.Spec.DNSNames, want.DNSNames) {
				live.Spec.DNSNames = want.DNSNames
				fields = append(fields, "spec.dnsNames")
			}
			if live.Spec.IssuerRef != want.IssuerRef {
				live.Spec.IssuerRef = want.IssuerRef
				fields = append(fields, "spec.issuerRef")
			}
			return fields
		},
	})
	if err != nil {
		return actions, err
	}
	return append(actions, a), nil
}
