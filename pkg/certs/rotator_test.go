package certs

import (
	"context"
	"crypto/x509"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

const day = 24 * time.Hour

var (
	t0         = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hosts      = []string{"maas-webhook.maas-system.svc", "maas-webhook.maas-system.svc.cluster.local"}
	secretName = types.NamespacedName{Namespace: "maas-system", Name: "maas-webhook-tls"}
)

func webhookConfig() *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "maas-webhook"},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "a.maas.io"}, {Name: "b.maas.io"}},
	}
}

func newRotator(c client.Client, clk *clocktesting.FakeClock) *Rotator {
	return &Rotator{Client: c, Secret: secretName, WebhookConfiguration: "maas-webhook", Policy: DefaultPolicy(hosts), Clock: clk}
}

// caBundle returns the caBundle of the configuration's webhooks, failing when they differ.
func caBundle(t *testing.T, c client.Client) []byte {
	t.Helper()
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "maas-webhook"}, cfg); err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.Webhooks[1:] {
		if diff := cmp.Diff(cfg.Webhooks[0].ClientConfig.CABundle, w.ClientConfig.CABundle); diff != "" {
			t.Fatalf("webhooks have different caBundles (-first +other):\n%s", diff)
		}
	}
	return cfg.Webhooks[0].ClientConfig.CABundle
}

// verify checks that leaf is trusted for the first host at now by bundle.
func verify(leaf *x509.Certificate, bundle []byte, now time.Time) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(bundle)
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: hosts[0], Roots: pool, CurrentTime: now})
	return err
}

// TestRotationNeverBreaksTrust runs the rotator once a day for three years with a fake
// clock. Every day the served certificate must be trusted by today's caBundle and by
// yesterday's (an API server that has not seen the update), and yesterday's certificate
// by today's caBundle (a replica that has not reloaded). It also counts the renewals.
func TestRotationNeverBreaksTrust(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(t0)
	c := fake.NewClientBuilder().WithObjects(webhookConfig()).Build()
	r := newRotator(c, clk)

	var prevLeaf *x509.Certificate
	var prevBundle []byte
	leaves, cas, maxBundle := map[string]bool{}, map[string]bool{}, 0
	for now := t0; now.Before(t0.Add(3 * 365 * day)); now = now.Add(day) {
		clk.SetTime(now)
		if err := r.Reconcile(ctx); err != nil {
			t.Fatalf("%s: %v", now, err)
		}
		cert, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, bundle := cert.Leaf, caBundle(t, c)
		if err := verify(leaf, bundle, now); err != nil {
			t.Fatalf("day %d: served certificate not trusted by the caBundle: %v", int(now.Sub(t0)/day), err)
		}
		if prevLeaf != nil {
			if err := verify(leaf, prevBundle, now); err != nil {
				t.Fatalf("day %d: served certificate not trusted by yesterday's caBundle: %v", int(now.Sub(t0)/day), err)
			}
			if err := verify(prevLeaf, bundle, now); err != nil {
				t.Fatalf("day %d: yesterday's certificate not trusted by the caBundle: %v", int(now.Sub(t0)/day), err)
			}
		}
		// Renewed 15 days ahead, or at most a day (the overlap) later at a CA switch.
		if !now.Before(leaf.NotAfter.Add(-14 * day)) {
			t.Fatalf("day %d: serving a certificate that expires on %s", int(now.Sub(t0)/day), leaf.NotAfter)
		}
		leaves[leaf.SerialNumber.String()] = true
		cas[string(leaf.AuthorityKeyId)] = true
		certs, _ := ParseCerts(bundle)
		maxBundle = max(maxBundle, len(certs))
		prevLeaf, prevBundle = leaf, bundle
	}
	// CAs signing from days 0, 351, 701 and 1051 (each switch a day after the next CA
	// appears, 15 days before expiry); serving certificates from days 0, 135, 270, 351,
	// 486, 621, 701, 836, 971 and 1051; never more than two CAs trusted at once.
	got := struct{ CAs, Leaves, MaxBundle int }{len(cas), len(leaves), maxBundle}
	want := struct{ CAs, Leaves, MaxBundle int }{4, 10, 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rotations (-want +got):\n%s", diff)
	}
}

func TestNext(t *testing.T) {
	p := DefaultPolicy(hosts)
	fresh, changed, err := Next(t0, nil, p)
	if err != nil || !changed {
		t.Fatalf("Next from nothing: changed %v, %v", changed, err)
	}
	tests := []struct {
		name       string
		now        time.Time
		data       map[string][]byte
		policy     Policy
		want       bool
		sameLeaf   bool
		sameSigner bool
		next       bool
	}{
		{name: "unchanged", now: t0.Add(day), data: fresh, policy: p, want: false, sameLeaf: true, sameSigner: true},
		{name: "leaf due", now: t0.Add(136 * day), data: fresh, policy: p, want: true, sameSigner: true},
		{name: "new host", now: t0.Add(day), data: fresh, policy: DefaultPolicy(append([]string{"127.0.0.1"}, hosts...)), want: true, sameSigner: true},
		{name: "leaf key lost", now: t0.Add(day), data: with(fresh, KeyTLSKey, nil), policy: p, want: true, sameSigner: true},
		{name: "signer key lost", now: t0.Add(day), data: with(fresh, KeySignerKey, []byte("garbage")), policy: p, want: true},
		// An expired leaf is renewed at once, even while a CA switch is pending.
		{name: "CA due, leaf expired", now: t0.Add(351 * day), data: fresh, policy: p, want: true, sameSigner: true, next: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := Next(tt.now, tt.data, tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			type outcome struct{ Changed, SameLeaf, SameSigner, Next bool }
			want := outcome{tt.want, tt.sameLeaf, tt.sameSigner, tt.next}
			gotO := outcome{changed, string(got[KeyTLSCert]) == string(fresh[KeyTLSCert]), string(got[KeySignerCert]) == string(fresh[KeySignerCert]), len(got[KeyNextCert]) > 0}
			if diff := cmp.Diff(want, gotO); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// with returns a copy of m with k set to v.
func with(m map[string][]byte, k string, v []byte) map[string][]byte {
	out := maps.Clone(m)
	out[k] = v
	return out
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy(hosts).Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
	bad := DefaultPolicy(hosts)
	bad.Overlap = bad.RenewBefore
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("overlap = renewBefore: %v", err)
	}
	if err := DefaultPolicy(nil).Validate(); err == nil {
		t.Error("no hosts: no error")
	}
}

// TestCreateRace makes a second replica create the Secret between the first one's read
// and its create: the first must re-read and serve the winner's certificate.
func TestCreateRace(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(t0)
	base := fake.NewClientBuilder().WithObjects(webhookConfig()).Build()
	winner := newRotator(base, clk)
	var raced atomic.Bool
	loserClient := interceptor.NewClient(base.(client.WithWatch), interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if _, ok := obj.(*corev1.Secret); ok && raced.CompareAndSwap(false, true) {
				if err := winner.Reconcile(ctx); err != nil {
					return err
				}
			}
			return c.Create(ctx, obj, opts...)
		},
	})
	loser := newRotator(loserClient, clk)
	if err := loser.Reconcile(ctx); err != nil {
		t.Fatalf("losing replica: %v", err)
	}
	w, _ := winner.GetCertificate(nil)
	l, _ := loser.GetCertificate(nil)
	if !raced.Load() || !w.Leaf.Equal(l.Leaf) {
		t.Errorf("raced %v; the replicas serve different certificates", raced.Load())
	}
	if err := verify(l.Leaf, caBundle(t, base), t0); err != nil {
		t.Errorf("caBundle does not trust the served certificate: %v", err)
	}
}

func TestGetCertificateBeforeReconcile(t *testing.T) {
	r := &Rotator{}
	if _, err := r.GetCertificate(nil); err != ErrNoCertificate {
		t.Errorf("GetCertificate: %v, want %v", err, ErrNoCertificate)
	}
	if err := r.ReadyCheck(nil); err != ErrNoCertificate {
		t.Errorf("ReadyCheck: %v, want %v", err, ErrNoCertificate)
	}
}
