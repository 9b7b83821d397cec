// Package webhook tests `webhook serve` against a real kube-apiserver that calls it over
// TLS, and benchmarks it.
package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/cmd/webhook/app"
	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/certs"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/mutate"
	"github.com/maas-io/maas-webhook/test/testenv"
)

const (
	namespace      = "maas-system"
	serviceAccount = "maas-webhook"
	// controllerUser is the identity serve runs as, and so the controller's.
	controllerUser = "system:serviceaccount:" + namespace + ":" + serviceAccount
	configFile     = "../../examples/config.yaml"
	manifest       = "../../manifests/base/mutatingwebhook.yaml"
)

// eventually polls cond every 100ms until it returns true, failing the test after a
// minute: a timeout against a hang, not a performance threshold.
func eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// user adds a user to the API server (in system:masters, so RBAC allows everything and
// only the webhook can say no) and returns its client and kubeconfig file.
func user(t testing.TB, env *testenv.Env, name string) (client.Client, string) {
	t.Helper()
	u, err := env.Environment.ControlPlane.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(u.Config(), client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, path
}

// webhookOnlyConfig writes the example configuration without threescale.adminURL, so
// that serve runs the webhook alone: these tests are about admission, and the sync
// controller has its own in test/sync.
func webhookOnlyConfig(t testing.TB) string {
	t.Helper()
	cfg, err := config.Load(configFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ThreeScale.AdminURL = ""
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// server is a running `webhook serve`.
type server struct {
	port int
	stop func()
}

// startServe runs `webhook serve` in this process, as the controller's service account,
// with the given extra flags, and stops it when the test ends.
func startServe(t testing.TB, kubeconfig string, port int, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve",
		"--config", webhookOnlyConfig(t), "--kubeconfig", kubeconfig,
		"--webhook-port", strconv.Itoa(port), "--webhook-bind-address", "127.0.0.1",
		"--webhook-service-namespace", namespace, "--service-account", serviceAccount,
		"--health-probe-bind-address", "0", "--metrics-bind-address", "0",
	}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cmd := app.NewRootCommand()
	cmd.SetArgs(args)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return &server{port: port, stop: stop}
}

// writePair writes a serving certificate for 127.0.0.1 signed by ca into dir, replacing
// the files by rename as a Secret volume update does.
func writePair(t testing.TB, dir string, ca *certs.KeyPair) *certs.KeyPair {
	t.Helper()
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.key": leaf.KeyPEM, "tls.crt": leaf.CertPEM} {
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return leaf
}

// newCA returns a CA for test serving certificates.
func newCA(t testing.TB) *certs.KeyPair {
	t.Helper()
	ca, err := certs.NewCA("test-ca", time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// installWebhook creates the MutatingWebhookConfiguration of the manifest, pointed at
// https://127.0.0.1:port with path (the manifest's when empty) and caBundle (none when
// nil), replacing an earlier one.
func installWebhook(t testing.TB, c client.Client, port int, path string, caBundle []byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		t.Fatalf("%s: %v", manifest, err)
	}
	for i := range cfg.Webhooks {
		cc := &cfg.Webhooks[i].ClientConfig
		if path == "" {
			path = *cc.Service.Path
		}
		url := "https://127.0.0.1:" + strconv.Itoa(port) + path
		cc.URL, cc.Service, cc.CABundle = &url, nil, caBundle
	}
	ctx := context.Background()
	if err := c.Delete(ctx, cfg.DeepCopy()); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// createNamespace creates a namespace with labels.
func createNamespace(t testing.TB, c client.Client, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// isvc returns an InferenceService with the given annotations and labels.
func isvc(ns, name string, ann, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("serving.kserve.io/v1beta1")
	u.SetKind("InferenceService")
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetAnnotations(ann)
	u.SetLabels(labels)
	_ = unstructured.SetNestedField(u.Object, "vLLM", "spec", "predictor", "model", "modelFormat", "name")
	_ = unstructured.SetNestedField(u.Object, "hf://ibm/granite", "spec", "predictor", "model", "storageUri")
	return u
}

// waitServing waits until the API server sends annotated InferenceServices in ns to the
// webhook and gets them defaulted (a dry-run create comes back managed).
func waitServing(t testing.TB, c client.Client, ns string) {
	t.Helper()
	eventually(t, "the API server to call the webhook", func(ctx context.Context) (bool, error) {
		obj := isvc(ns, "probe", map[string]string{annotations.Expose: "true"}, nil)
		if err := c.Create(ctx, obj, client.DryRunAll); err != nil {
			return false, err
		}
		return obj.GetLabels()[annotations.Managed] == "true", nil
	})
}

// webhookCalls is how many requests the webhook server has answered on mutate.Path, from
// controller-runtime's metrics: counted on the server side.
func webhookCalls(t testing.TB) float64 {
	t.Helper()
	return callsOn(t, mutate.Path)
}

// callsOn is how many requests the webhook servers of this process answered on path.
func callsOn(t testing.TB, path string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "webhook" && l.GetValue() == path {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// servedCert returns the certificate a new TLS connection to port gets.
func servedCert(port int, roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	chain := conn.ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, errors.New("no certificate")
	}
	return chain[0], nil
}
