package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Rotator keeps the pair in a Secret, the CA in a MutatingWebhookConfiguration's
// caBundle, and serves the current certificate through GetCertificate. Every replica runs
// one: they agree through the Secret (whoever writes first wins, the others re-read), so
// it needs no leader election.
type Rotator struct {
	// Client reads and writes the Secret and the webhook configuration. Reads should not
	// be cached, so that a replica sees another's write at once (and needs no watch).
	Client client.Client
	// Secret names the Secret that holds the pair.
	Secret types.NamespacedName
	// WebhookConfiguration is the name of the MutatingWebhookConfiguration whose
	// webhooks get the caBundle.
	WebhookConfiguration string
	// Policy is the validity and renewal policy.
	Policy Policy
	// Clock is the time source; the system clock when nil.
	Clock clock.PassiveClock
	// Interval is how often the Secret is checked; one minute when zero. After an error
	// the next check comes after a tenth of it.
	Interval time.Duration

	cert atomic.Pointer[tls.Certificate]
}

// ErrNoCertificate is returned by GetCertificate before the first successful Reconcile.
var ErrNoCertificate = errors.New("no serving certificate yet")

// maxAttempts bounds the retries of a write that lost a race with another replica.
const maxAttempts = 5

// Reconcile makes one pass: it reads the Secret, stores what Next says should be there
// (creating the Secret when absent; on a conflict, it re-reads and tries again), loads
// the serving certificate and writes the caBundle into the webhook configuration.
func (r *Rotator) Reconcile(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx)
	var data map[string][]byte
	for attempt := 1; ; attempt++ {
		var err error
		data, err = r.syncSecret(ctx)
		if err == nil {
			break
		}
		if attempt == maxAttempts || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			return err
		}
		log.V(1).Info("Another replica wrote the certificate Secret first; re-reading", "attempt", attempt)
	}
	cert, err := tls.X509KeyPair(data[KeyTLSCert], data[KeyTLSKey])
	if err != nil {
		return fmt.Errorf("loading the serving certificate from Secret %s: %w", r.Secret, err)
	}
	if old := r.cert.Swap(&cert); old == nil || !bytes.Equal(old.Certificate[0], cert.Certificate[0]) {
		log.Info("Serving a new certificate", "secret", r.Secret.String(), "notAfter", cert.Leaf.NotAfter)
	}
	return r.syncCABundle(ctx, data[KeyCABundle])
}

// syncSecret brings the Secret to what Next says and returns its data.
func (r *Rotator) syncSecret(ctx context.Context) (map[string][]byte, error) {
	secret := &corev1.Secret{}
	err := r.Client.Get(ctx, r.Secret, secret)
	absent := apierrors.IsNotFound(err)
	if err != nil && !absent {
		return nil, fmt.Errorf("reading Secret %s: %w", r.Secret, err)
	}
	data, changed, err := Next(r.now(), secret.Data, r.Policy)
	if err != nil {
		return nil, fmt.Errorf("issuing certificates: %w", err)
	}
	if !changed {
		return data, nil
	}
	secret.Data = data
	if absent {
		secret.ObjectMeta = metav1.ObjectMeta{Namespace: r.Secret.Namespace, Name: r.Secret.Name}
		secret.Type = corev1.SecretTypeTLS
		if err := r.Client.Create(ctx, secret); err != nil {
			return nil, fmt.Errorf("creating Secret %s: %w", r.Secret, err)
		}
	} else if err := r.Client.Update(ctx, secret); err != nil {
		return nil, fmt.Errorf("updating Secret %s: %w", r.Secret, err)
	}
	logr.FromContextOrDiscard(ctx).Info("Stored new certificates", "secret", r.Secret.String())
	return data, nil
}

// syncCABundle writes bundle into every webhook of the configuration that lacks it.
func (r *Rotator) syncCABundle(ctx context.Context, bundle []byte) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: r.WebhookConfiguration}, cfg); err != nil {
			return err
		}
		changed := false
		for i := range cfg.Webhooks {
			if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, bundle) {
				cfg.Webhooks[i].ClientConfig.CABundle = bundle
				changed = true
			}
		}
		if !changed {
			return nil
		}
		if err := r.Client.Update(ctx, cfg); err != nil {
			return err
		}
		logr.FromContextOrDiscard(ctx).Info("Updated the caBundle", "webhookConfiguration", r.WebhookConfiguration)
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing the caBundle of MutatingWebhookConfiguration %s: %w", r.WebhookConfiguration, err)
	}
	return nil
}

// GetCertificate serves the current certificate; use it as tls.Config.GetCertificate.
func (r *Rotator) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := r.cert.Load(); c != nil {
		return c, nil
	}
	return nil, ErrNoCertificate
}

// ReadyCheck fails until a certificate is loaded; a healthz.Checker for readiness.
func (r *Rotator) ReadyCheck(*http.Request) error {
	if r.cert.Load() == nil {
		return ErrNoCertificate
	}
	return nil
}

// Start reconciles at once and then every Interval until ctx ends; a manager.Runnable.
// Errors are logged and retried sooner.
func (r *Rotator) Start(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithName("certs")
	ctx = logr.NewContext(ctx, log)
	interval := r.Interval
	if interval == 0 {
		interval = time.Minute
	}
	for {
		wait := interval
		if err := r.Reconcile(ctx); err != nil {
			log.Error(err, "Certificate check failed; retrying")
			wait = interval / 10
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// NeedLeaderElection is false: every replica serves, so every replica needs the pair.
func (r *Rotator) NeedLeaderElection() bool { return false }

func (r *Rotator) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
