package packaging

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/cmd/webhook/app"
	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/certs"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/test/testenv"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// sufficientTimeout bounds every wait of TestRBACSufficient: a guard against a hang, not
// a performance threshold.
const sufficientTimeout = 2 * time.Minute

// TestRBACSufficient proves the chart's controller RBAC sufficient by running the real
// `webhook serve` (webhook, leader election and sync controller) as the chart's
// ServiceAccount, with the chart's flags, configuration and webhook registration,
// against a kube-apiserver holding only the chart's RBAC and the 3scale simulator,
// through the whole life of a model: admission, sync to 3scale, deletion and cleanup.
// Every request the API server forbids is read from serve's log and fails the test.
//
// The chart's default TLS mode (cert-manager) runs serve with --tls-mode files, so the
// test writes a serving certificate of its own into --cert-dir and needs no Service.
// serve registers metrics in controller-runtime's global registry, so it runs once.
func TestRBACSufficient(t *testing.T) {
	mustTool(t, "helm")
	const releaseNS = "maas-system"
	env := testenv.Start(t, []testenv.CRDSet{testenv.KServe})
	ctx := t.Context()
	sim, simServer := threescalesim.NewTestServer(t, threescalesim.Config{})

	objs, err := RenderChart(Release{Namespace: releaseNS, Set: []string{"config.threescale.adminURL=" + simServer.URL}})
	if err != nil {
		t.Fatal(err)
	}
	deployments := Find(objs, "Deployment", "")
	if len(deployments) != 1 {
		t.Fatalf("want one Deployment, the chart rendered %d", len(deployments))
	}
	sa, _, _ := unstructured.NestedString(deployments[0].Object, "spec", "template", "spec", "serviceAccountName")
	if sa == "" {
		t.Fatal("the Deployment names no serviceAccountName")
	}
	saUser := "system:serviceaccount:" + releaseNS + ":" + sa

	// The chart's RBAC, and nothing else, for the ServiceAccount.
	saConfig, err := ServiceAccountConfig(ctx, env.Client, env.Config, objs, releaseNS, sa,
		authorizationv1.ResourceAttributes{Verb: "watch", Group: isvcGroup, Resource: "inferenceservices"})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	configPath := filepath.Join(dir, "config.yaml")
	cfg := writeControllerConfig(t, objs, configPath)
	createTokenSecret(t, ctx, env.Client, cfg.ThreeScale.TokenSecretRef, releaseNS, sim.Token())
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, saConfig, kubeconfig)

	ca, err := certs.NewCA("rbac-sufficient-ca", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	writeServingCert(t, ca, certDir)
	port := loopbackPort(t)
	registerWebhook(t, ctx, env.Client, objs, port, ca.CertPEM)

	args := serveArgs(t, containerArgs(t, deployments[0]), map[string]string{
		"config":                    configPath,
		"cert-dir":                  certDir,
		"webhook-port":              strconv.Itoa(port),
		"health-probe-bind-address": "0",
		"metrics-bind-address":      "0",
	})
	for name, want := range map[string]string{"tls-mode": app.TLSModeFiles, "leader-elect": "", "leader-election-namespace": releaseNS, "controller-service-account": saUser} {
		if got, ok := flagValue(args, name); !ok || got != want {
			t.Fatalf("the chart's serve flag --%s is %q (set: %v), want %q", name, got, ok, want)
		}
	}
	log := captureStderr(t)
	srv := runServe(t, append(args, "--kubeconfig="+kubeconfig, "--webhook-bind-address=127.0.0.1"))

	// From here on the test acts as the cluster admin (and as KServe).
	w := &watcher{t: t, serve: srv, log: log}
	isvc := readExample(t, "granite-chat.yaml")
	key := client.ObjectKeyFromObject(isvc)
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: key.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	w.until(ctx, "the API server to call the webhook", func(ctx context.Context) (bool, error) {
		probe := isvc.DeepCopy()
		probe.SetName("probe")
		if err := env.Client.Create(ctx, probe, client.DryRunAll); err != nil {
			return false, err
		}
		return probe.GetLabels()[annotations.Managed] == "true", nil
	})

	if err := env.Client.Create(ctx, isvc); err != nil {
		t.Fatalf("creating %s: %v", key, err)
	}
	systemName := annotations.DefaultSystemName(key.Namespace, key.Name)
	wantInputs := map[string]string{
		annotations.Expose:          "true",
		annotations.DisplayName:     "Granite 3.1 8B Instruct",
		annotations.SystemName:      systemName,
		annotations.Endpoints:       strings.Join(annotations.Families, ","),
		annotations.Plans:           strings.Join(cfg.DefaultPlans, ","),
		annotations.TokenMetrics:    strconv.FormatBool(cfg.TokenMetrics.Enabled),
		annotations.CORSAllowOrigin: cfg.CORS.AllowOrigin,
		annotations.DeletionPolicy:  string(annotations.DeletionDelete),
	}
	if diff := cmp.Diff(wantInputs, inputAnnotations(isvc)); diff != "" {
		t.Errorf("the webhook's defaults (-want +got):\n%s", diff)
	}
	if !slices.Contains(isvc.GetFinalizers(), annotations.Finalizer) {
		t.Errorf("finalizers %v: the webhook did not add %s", isvc.GetFinalizers(), annotations.Finalizer)
	}
	if got := isvc.GetLabels()[annotations.Managed]; got != "true" {
		t.Errorf("label %s is %q, want \"true\"", annotations.Managed, got)
	}

	markReady(t, ctx, env.Client, isvc)
	var state, message string
	w.until(ctx, "the model to be "+annotations.StateSynced, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, key, isvc); err != nil {
			return false, err
		}
		state, message = isvc.GetAnnotations()[annotations.StatusState], isvc.GetAnnotations()[annotations.StatusMessage]
		w.detail = "last state " + strconv.Quote(state) + ": " + message
		return state == annotations.StateSynced, nil
	})
	product, ok := liveProduct(sim, systemName)
	if !ok {
		t.Fatalf("the model is %s but 3scale has no product %s", state, systemName)
	}
	if got, want := isvc.GetAnnotations()[annotations.StatusProductID], strconv.FormatInt(product.ID, 10); got != want {
		t.Errorf("%s is %q, want the product's id %s", annotations.StatusProductID, got, want)
	}

	if err := env.Client.Delete(ctx, isvc); err != nil {
		t.Fatalf("deleting %s: %v", key, err)
	}
	w.until(ctx, "the deleted model to be gone (finalizer removed)", func(ctx context.Context) (bool, error) {
		err := env.Client.Get(ctx, key, isvc)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		w.detail = "last state " + strconv.Quote(isvc.GetAnnotations()[annotations.StatusState]) + ": " + isvc.GetAnnotations()[annotations.StatusMessage]
		return false, nil
	})
	if _, ok := liveProduct(sim, systemName); ok {
		t.Errorf("the model is gone but product %s is still in 3scale", systemName)
	}
	srv.stop()
	if diff := cmp.Diff([]string(nil), log.denials()); diff != "" {
		t.Errorf("serve was forbidden requests by the chart's RBAC (-want +got):\n%s", diff)
	}
}

// writeControllerConfig writes the config.yaml of the chart's ConfigMap to path and
// returns it parsed.
func writeControllerConfig(t *testing.T, objs []*unstructured.Unstructured, path string) config.Config {
	t.Helper()
	var data string
	for _, cm := range Find(objs, "ConfigMap", "") {
		if d, found, _ := unstructured.NestedString(cm.Object, "data", "config.yaml"); found {
			data = d
		}
	}
	if data == "" {
		t.Fatal("the chart rendered no ConfigMap with config.yaml")
	}
	cfg, err := config.Parse([]byte(data))
	if err != nil {
		t.Fatalf("the chart's config.yaml: %v", err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// createTokenSecret creates the 3scale token Secret the configuration names (in the
// release namespace when it names none).
func createTokenSecret(t *testing.T, ctx context.Context, c client.Client, ref config.SecretKeyRef, releaseNS, token string) {
	t.Helper()
	if ref.Namespace == "" {
		ref.Namespace = releaseNS
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ref.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name},
		Data:       map[string][]byte{ref.Key: []byte(token)},
	}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatalf("creating the 3scale token Secret: %v", err)
	}
}

// writeKubeconfig writes a kubeconfig with the credentials and impersonation of cfg.
func writeKubeconfig(t *testing.T, cfg *rest.Config, path string) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["impersonator"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
		Impersonate:           cfg.Impersonate.UserName,
		ImpersonateGroups:     cfg.Impersonate.Groups,
	}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "impersonator"}
	kc.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

// writeServingCert writes tls.crt and tls.key for 127.0.0.1, signed by ca, into dir.
func writeServingCert(t *testing.T, ca *certs.KeyPair, dir string) {
	t.Helper()
	leaf, err := ca.Issue([]string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": leaf.CertPEM, "tls.key": leaf.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// loopbackPort returns a loopback TCP port that was free a moment ago.
func loopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// registerWebhook creates the chart's MutatingWebhookConfiguration with each
// clientConfig pointed at https://127.0.0.1:port (the chart's path) and trusting caPEM.
func registerWebhook(t *testing.T, ctx context.Context, c client.Client, objs []*unstructured.Unstructured, port int, caPEM []byte) {
	t.Helper()
	found := Find(objs, "MutatingWebhookConfiguration", "")
	if len(found) != 1 {
		t.Fatalf("want one MutatingWebhookConfiguration, the chart rendered %d", len(found))
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(found[0].Object, mwc, true); err != nil {
		t.Fatal(err)
	}
	for i := range mwc.Webhooks {
		cc := &mwc.Webhooks[i].ClientConfig
		if cc.Service == nil || cc.Service.Path == nil {
			t.Fatalf("webhook %s has no Service path", mwc.Webhooks[i].Name)
		}
		url := "https://127.0.0.1:" + strconv.Itoa(port) + *cc.Service.Path
		cc.URL, cc.Service, cc.CABundle = &url, nil, caPEM
	}
	if err := c.Create(ctx, mwc); err != nil {
		t.Fatalf("registering the webhook: %v", err)
	}
}

// serveArgs returns the chart's container args with the values of the flags in
// overrides replaced; every override must be a flag the chart sets.
func serveArgs(t *testing.T, chart []string, overrides map[string]string) []string {
	t.Helper()
	out := slices.Clone(chart)
	for name, v := range overrides {
		i := slices.IndexFunc(out, func(a string) bool { return strings.HasPrefix(a, "--"+name+"=") })
		if i < 0 {
			t.Fatalf("the chart does not set --%s", name)
		}
		out[i] = "--" + name + "=" + v
	}
	return out
}

// serveRun is a `webhook serve` running in this process.
type serveRun struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// runServe runs the webhook command with args in this process, and stops it when the
// test ends.
func runServe(t *testing.T, args []string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serveRun{t: t, cancel: cancel, done: make(chan error, 1)}
	cmd := app.NewRootCommand()
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	go func() { s.done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(s.stop)
	return s
}

// exited reports whether serve has ended, and how.
func (s *serveRun) exited() (bool, error) {
	select {
	case err := <-s.done:
		s.once.Do(func() { s.err = err })
		s.done <- err
		return true, err
	default:
		return false, nil
	}
}

// stop stops serve and waits for it, failing the test when it failed.
func (s *serveRun) stop() {
	s.cancel()
	err := <-s.done
	s.done <- err
	s.once.Do(func() {
		s.err = err
		if err != nil {
			s.t.Errorf("serve: %v", err)
		}
	})
}

// stderrLog collects what this process writes to standard error: serve's log and
// client-go's (klog), where the API server's refusals show.
type stderrLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *stderrLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// denials returns the log lines that report a request the API server forbade.
func (l *stderrLog) denials() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "forbidden") || strings.Contains(line, "Forbidden") {
			out = append(out, line)
		}
	}
	return out
}

// captureStderr points os.Stderr at a pipe into the returned log until the test ends.
// Call it before starting serve: its logger binds os.Stderr when it starts.
func captureStderr(t *testing.T) *stderrLog {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &stderrLog{}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(l, r)
	}()
	orig := os.Stderr
	os.Stderr = w
	t.Cleanup(func() {
		os.Stderr = orig
		_ = w.Close()
		<-copied
		_ = r.Close()
	})
	return l
}

// watcher polls conditions while watching serve: it fails at once when serve ends or
// the API server forbids it anything, and says what.
type watcher struct {
	t     *testing.T
	serve *serveRun
	log   *stderrLog
	// detail is added to the message of a timeout; conditions set it.
	detail string
}

// until polls cond every 250ms until it holds, for at most sufficientTimeout.
func (w *watcher) until(ctx context.Context, what string, cond func(ctx context.Context) (bool, error)) {
	w.t.Helper()
	w.detail = ""
	var stopped string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, sufficientTimeout, true, func(ctx context.Context) (bool, error) {
		if d := w.log.denials(); len(d) > 0 {
			stopped = "the chart's RBAC forbade serve:\n" + strings.Join(d, "\n")
			return false, errStopWaiting
		}
		if ended, err := w.serve.exited(); ended {
			stopped = fmt.Sprintf("serve ended: %v", err)
			return false, errStopWaiting
		}
		return cond(ctx)
	})
	switch {
	case stopped != "":
		w.t.Fatalf("waiting for %s: %s", what, stopped)
	case err != nil:
		w.t.Fatalf("waiting for %s: %v (%s)", what, err, w.detail)
	}
}

// errStopWaiting ends a wait that can no longer succeed.
var errStopWaiting = errors.New("stopped waiting")

// readExample reads an example InferenceService.
func readExample(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	path := filepath.Join(repoRoot(t), "examples", "inferenceservices", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.UnmarshalStrict(data, &u.Object); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return u
}

// inputAnnotations returns the maas.io/* annotations (the inputs) of an object.
func inputAnnotations(o client.Object) map[string]string {
	out := map[string]string{}
	for k, v := range o.GetAnnotations() {
		if strings.HasPrefix(k, annotations.Prefix) {
			out[k] = v
		}
	}
	return out
}

// markReady does what KServe does once a model serves, through the status
// subresource: a Ready condition and an address.
func markReady(t *testing.T, ctx context.Context, c client.Client, u *unstructured.Unstructured) {
	t.Helper()
	if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		t.Fatal(err)
	}
	status := map[string]any{
		"url":     "https://" + u.GetName() + "-" + u.GetNamespace() + ".apps.example.com",
		"address": map[string]any{"url": "http://" + u.GetName() + "-predictor." + u.GetNamespace() + ".svc.cluster.local"},
		"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		}},
	}
	if err := unstructured.SetNestedMap(u.Object, status, "status"); err != nil {
		t.Fatal(err)
	}
	if err := c.Status().Update(ctx, u); err != nil {
		t.Fatalf("marking the model Ready: %v", err)
	}
}

// liveProduct returns the simulator's product of a system name that is not deleted.
func liveProduct(sim *threescalesim.Server, systemName string) (threescalesim.Service, bool) {
	for _, s := range sim.Snapshot().Services {
		if s.SystemName == systemName && s.DeletedAt.IsZero() {
			return s, true
		}
	}
	return threescalesim.Service{}, false
}
