package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/certs"
	"github.com/maas-io/maas-webhook/test/testenv"
)

// TestServe runs `webhook serve` with certificates from files against a real API server
// that calls it over TLS, then restarts it in self-managed TLS mode. The subtests share
// the control plane and run in order.
func TestServe(t *testing.T) {
	env := testenv.Start(t, nil)
	ctx := context.Background()
	admin := env.Client
	controller, kubeconfig := user(t, env, controllerUser)
	alice, _ := user(t, env, "alice")
	createNamespace(t, admin, namespace, nil)
	createNamespace(t, admin, "models", nil)

	ca := newCA(t)
	certDir := t.TempDir()
	writePair(t, certDir, ca)
	port := freePort(t)
	srv := startServe(t, kubeconfig, port, "--cert-dir", certDir)
	installWebhook(t, admin, port, "", ca.CertPEM)
	waitServing(t, admin, "models")

	t.Run("annotated object gets its defaults, once", func(t *testing.T) {
		obj := example(t, "granite-chat.yaml")
		in := obj.DeepCopy()
		before := webhookCalls(t)
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		if webhookCalls(t) <= before {
			t.Error("the webhook was not called")
		}
		ann := obj.GetAnnotations()
		for k, v := range map[string]string{annotations.Plans: "basic", annotations.Endpoints: "chat,completions,embeddings,models", annotations.SystemName: "models-granite-3-1-8b-instruct", annotations.DisplayName: "Granite 3.1 8B Instruct"} {
			if ann[k] != v {
				t.Errorf("annotation %s = %q, want %q", k, ann[k], v)
			}
		}
		if obj.GetLabels()[annotations.Managed] != "true" {
			t.Errorf("labels %v lack %s", obj.GetLabels(), annotations.Managed)
		}
		if diff := cmp.Diff([]string{annotations.Finalizer}, obj.GetFinalizers()); diff != "" {
			t.Errorf("finalizers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(in.Object["spec"], obj.Object["spec"]); diff != "" {
			t.Errorf("spec changed (-want +got):\n%s", diff)
		}

		again := obj.DeepCopy()
		if err := admin.Update(ctx, again); err != nil {
			t.Fatal(err)
		}
		if again.GetResourceVersion() != obj.GetResourceVersion() {
			t.Errorf("updating the defaulted object changed it: resourceVersion %s -> %s", obj.GetResourceVersion(), again.GetResourceVersion())
		}
		if diff := cmp.Diff(obj.Object["metadata"], again.Object["metadata"]); diff != "" {
			t.Errorf("metadata after a second update (-first +second):\n%s", diff)
		}
	})

	t.Run("invalid object is denied, naming the keys", func(t *testing.T) {
		err := admin.Create(ctx, example(t, "invalid.yaml"))
		if err == nil {
			t.Fatal("created")
		}
		for _, s := range []string{"denied the request", annotations.Expose, `"yes"`, annotations.SystemName, `"my model"`} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not contain %q", err, s)
			}
		}
	})

	t.Run("dry run is served the same way", func(t *testing.T) {
		obj := isvc("models", "dry", map[string]string{annotations.Expose: "true"}, nil)
		if err := admin.Create(ctx, obj, client.DryRunAll); err != nil {
			t.Fatal(err)
		}
		if obj.GetLabels()[annotations.Managed] != "true" {
			t.Errorf("dry-run result not defaulted: %v", obj.GetLabels())
		}
	})

	untouched := []struct {
		name   string
		ns     string
		ann    map[string]string
		labels map[string]string
	}{
		{name: "opted-out namespace", ns: "private", ann: map[string]string{annotations.Expose: "true"}},
		{name: "opted-out object", ns: "models", ann: map[string]string{annotations.Expose: "true"}, labels: map[string]string{annotations.OptOut: "true"}},
		{name: "no annotation", ns: "models", ann: map[string]string{"example.com/other": "x"}},
	}
	createNamespace(t, admin, "private", map[string]string{annotations.OptOut: "true"})
	for i, tt := range untouched {
		t.Run(tt.name+" is stored untouched without a call", func(t *testing.T) {
			obj := isvc(tt.ns, fmt.Sprintf("untouched-%d", i), tt.ann, tt.labels)
			before := webhookCalls(t)
			if err := admin.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.ann, obj.GetAnnotations()); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.labels, obj.GetLabels()); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if len(obj.GetFinalizers()) > 0 {
				t.Errorf("finalizers %v", obj.GetFinalizers())
			}
			if calls := webhookCalls(t) - before; calls != 0 {
				t.Errorf("the webhook was called %v times", calls)
			}
		})
	}

	t.Run("only the controller writes status annotations", func(t *testing.T) {
		withStatus := map[string]string{annotations.Expose: "true", annotations.StatusProductID: "42"}
		err := alice.Create(ctx, isvc("models", "alice", withStatus, nil))
		if err == nil || !strings.Contains(err.Error(), annotations.StatusProductID) {
			t.Fatalf("alice setting %s: %v", annotations.StatusProductID, err)
		}
		obj := isvc("models", "by-controller", map[string]string{annotations.Expose: "true"}, nil)
		if err := alice.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		obj.SetAnnotations(withStatus)
		obj.SetLabels(map[string]string{annotations.State: annotations.StateSynced})
		if err := alice.Update(ctx, obj.DeepCopy()); err == nil || !strings.Contains(err.Error(), "label "+annotations.State) {
			t.Fatalf("alice setting the state: %v", err)
		}
		if err := controller.Update(ctx, obj); err != nil {
			t.Fatalf("the controller setting the state: %v", err)
		}
		if got := obj.GetAnnotations()[annotations.StatusProductID]; got != "42" {
			t.Errorf("stored %s = %q", annotations.StatusProductID, got)
		}
	})

	t.Run("certificate files rotate while requests flow", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		var sent, failed atomic.Int64
		loadCtx, stopLoad := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := 0; loadCtx.Err() == nil; i++ {
					obj := isvc("models", fmt.Sprintf("load-%d-%d", w, i), map[string]string{annotations.Expose: "true"}, nil)
					err := admin.Create(loadCtx, obj, client.DryRunAll)
					if loadCtx.Err() != nil {
						return
					}
					sent.Add(1)
					// failurePolicy Ignore turns a failed call into an unmutated object.
					if err != nil || obj.GetLabels()[annotations.Managed] != "true" {
						failed.Add(1)
						t.Logf("request failed: %v, labels %v", err, obj.GetLabels())
					}
				}
			})
		}
		eventually(t, "requests before the rotation", func(context.Context) (bool, error) { return sent.Load() >= 20, nil })
		leaf := writePair(t, certDir, ca)
		eventually(t, "new connections to get the new certificate", func(context.Context) (bool, error) {
			c, err := servedCert(port, roots)
			return err == nil && c.Equal(leaf.Cert), nil
		})
		atRotation := sent.Load()
		eventually(t, "requests after the rotation", func(context.Context) (bool, error) { return sent.Load() >= atRotation+20, nil })
		stopLoad()
		wg.Wait()
		if failed.Load() > 0 {
			t.Errorf("%d of %d requests failed", failed.Load(), sent.Load())
		}
		t.Logf("%d requests, %d after the rotation", sent.Load(), sent.Load()-atRotation)
	})

	t.Run("TLS 1.2 at least, no HTTP/2", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}); err == nil {
			conn.Close()
			t.Error("a TLS 1.1 handshake succeeded")
		}
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
			t.Errorf("negotiated %s", p)
		}
	})

	t.Run("self-managed TLS from an empty Secret", func(t *testing.T) {
		srv.stop()
		if err := admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "maas-webhook-tls"}}); err != nil {
			t.Fatal(err)
		}
		port := freePort(t)
		installWebhook(t, admin, port, "", nil)
		startServe(t, kubeconfig, port, "--tls-mode", "self-managed", "--tls-hosts", "127.0.0.1")
		waitServing(t, admin, "models")

		secret := &corev1.Secret{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "maas-webhook-tls"}, secret); err != nil {
			t.Fatal(err)
		}
		cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "maas-webhook"}, cfg); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(secret.Data[certs.KeyCABundle]), string(cfg.Webhooks[0].ClientConfig.CABundle)); diff != "" {
			t.Errorf("caBundle is not the Secret's (-secret +config):\n%s", diff)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(cfg.Webhooks[0].ClientConfig.CABundle)
		served, err := servedCert(port, roots)
		if err != nil {
			t.Fatalf("the served certificate is not trusted by the caBundle: %v", err)
		}
		stored, err := certs.ParseCerts(secret.Data[certs.KeyTLSCert])
		if err != nil || len(stored) == 0 || !stored[0].Equal(served) {
			t.Errorf("served certificate is not the Secret's (%v)", err)
		}
		for _, h := range []string{"maas-webhook.maas-system.svc", "maas-webhook.maas-system.svc.cluster.local"} {
			if err := served.VerifyHostname(h); err != nil {
				t.Error(err)
			}
		}
	})
}

// example reads one of examples/inferenceservices.
func example(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile("../../examples/inferenceservices/" + file)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}
