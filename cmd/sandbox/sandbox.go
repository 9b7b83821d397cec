package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
	"github.com/maas-io/maas-webhook/pkg/threescale"
	kcsim "github.com/maas-io/maas-webhook/test/keycloak"
	"github.com/maas-io/maas-webhook/test/testenv"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

// options are the sandbox's flags. Credentials of real systems come from the
// environment, never from flags.
type options struct {
	keep             bool
	workDir          string
	threescaleURL    string
	keycloakURL      string
	keycloakBasePath string
	portalHost       string
}

// Environment variables with the credentials of a real 3scale and Keycloak.
const (
	envThreescaleToken  = "MAAS_SANDBOX_3SCALE_TOKEN"
	envKeycloakUser     = "MAAS_SANDBOX_KEYCLOAK_USER"
	envKeycloakPassword = "MAAS_SANDBOX_KEYCLOAK_PASSWORD"
)

func (o options) validate() error {
	var errs []error
	if o.threescaleURL != "" && os.Getenv(envThreescaleToken) == "" {
		errs = append(errs, fmt.Errorf("--threescale-admin-url needs the access token in $%s", envThreescaleToken))
	}
	if o.keycloakURL != "" && os.Getenv(envKeycloakPassword) == "" {
		errs = append(errs, fmt.Errorf("--keycloak-url needs the admin password in $%s", envKeycloakPassword))
	}
	if o.keycloakBasePath != string(keycloak.BasePathKeycloak) && o.keycloakBasePath != string(keycloak.BasePathRHSSO) {
		errs = append(errs, fmt.Errorf("--keycloak-base-path %q: use keycloak or rhsso", o.keycloakBasePath))
	}
	return errors.Join(errs...)
}

// Names the sandbox gives the control plane's objects, as the chart would.
const (
	systemNamespace = "maas-system"
	serviceAccount  = "maas-webhook"
	tokenSecret     = "threescale-admin-token"
	keycloakSecret  = "keycloak-admin"
	portalHost      = "maas.apps.sandbox.local"
)

// sandbox is one run: the processes and servers it started and the outcomes it checked.
type sandbox struct {
	out        io.Writer
	opts       options
	root, dir  string
	webhookBin string
	env        *testenv.Env
	kubeconfig map[string]string // user → kubeconfig path
	tsURL      string
	kcURL      string
	kcUser     string
	kcPassword string
	client     *threescale.Client
	serve      *exec.Cmd
	servers    []*http.Server
	outcomes   []outcome
}

// outcome is one expectation of the demo and whether it held.
type outcome struct {
	what string
	ok   bool
}

func run(ctx context.Context, o options, out io.Writer) (err error) {
	if err := o.validate(); err != nil {
		return err
	}
	s := &sandbox{out: out, opts: o, kubeconfig: map[string]string{}}
	defer func() { err = errors.Join(err, s.close()) }()
	steps := []struct {
		title string
		fn    func(context.Context) error
	}{
		{"preparing the work directory", func(context.Context) error { return s.prepare(o.workDir) }},
		{"building kube-apiserver and etcd (once) and the webhook binary", s.build},
		{"starting kube-apiserver and etcd with the KServe, 3scale-operator and cert-manager CRDs", s.startControlPlane},
		{"starting the 3scale and Keycloak simulators on loopback (or using the real ones given)", s.startBackends},
		{"running webhook bootstrap (Keycloak realm and client, APIManager, 3scale tenant)", s.bootstrap},
		{"running webhook serve, registered with the API server over TLS", s.startServe},
		{"applying the example InferenceServices", s.applyModels},
		{"playing KServe: marking the valid models Ready with an address", s.markReady},
		{"waiting for the sync", s.waitSynced},
		{"what 3scale and the developer portal now hold", s.summarize},
		{"withdrawing one model", s.withdraw},
	}
	for i, st := range steps {
		fmt.Fprintf(out, "\n[%d/%d] %s\n", i+1, len(steps), st.title)
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.title, err)
		}
	}
	failed := 0
	fmt.Fprintln(out, "\nOutcomes:")
	for _, oc := range s.outcomes {
		mark := "ok  "
		if !oc.ok {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(out, "  %s %s\n", mark, oc.what)
	}
	fmt.Fprintf(out, "%d of %d outcomes as expected\n", len(s.outcomes)-failed, len(s.outcomes))
	if o.keep {
		s.printAccess()
		<-ctx.Done()
	}
	if failed > 0 {
		return fmt.Errorf("%d outcomes were not as expected (logs in %s)", failed, s.dir)
	}
	return nil
}

// expect records an outcome and prints it as it happens.
func (s *sandbox) expect(ok bool, format string, args ...any) {
	what := fmt.Sprintf(format, args...)
	s.outcomes = append(s.outcomes, outcome{what: what, ok: ok})
	if !ok {
		fmt.Fprintf(s.out, "  NOT AS EXPECTED: %s\n", what)
	}
}

func (s *sandbox) prepare(dir string) error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return fmt.Errorf("run the sandbox from inside the repository (make demo): %w", err)
	}
	s.root = root
	if dir == "" {
		if dir, err = os.MkdirTemp("", "maas-sandbox-"); err != nil {
			return err
		}
	}
	s.dir = dir
	fmt.Fprintf(s.out, "  work directory %s (kubeconfigs, configuration, certificates, logs)\n", dir)
	return os.MkdirAll(dir, 0o755)
}

func (s *sandbox) build(ctx context.Context) error {
	assets := exec.CommandContext(ctx, filepath.Join(s.root, "hack", "envtest-assets.sh"))
	assets.Stderr = prefixWriter(s.out, "  | ")
	dir, err := assets.Output()
	if err != nil {
		return fmt.Errorf("hack/envtest-assets.sh: %w", err)
	}
	if err := os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(string(dir))); err != nil {
		return err
	}
	s.webhookBin = filepath.Join(s.dir, "webhook")
	build := exec.CommandContext(ctx, "go", "build", "-o", s.webhookBin, "./cmd/webhook")
	build.Dir = s.root
	build.Stdout, build.Stderr = prefixWriter(s.out, "  | "), prefixWriter(s.out, "  | ")
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/webhook: %w", err)
	}
	return nil
}

func (s *sandbox) startControlPlane(context.Context) error {
	env, err := testenv.New([]testenv.CRDSet{testenv.KServe, testenv.ThreeScaleOperator, testenv.CertManager})
	if err != nil {
		return err
	}
	s.env = env
	// One identity per part, as on a cluster: the controller's service account (the only
	// user allowed to write status.maas.io/*), the bootstrap job's, and a person's.
	for _, user := range []string{
		"system:serviceaccount:" + systemNamespace + ":" + serviceAccount,
		"system:serviceaccount:" + systemNamespace + ":maas-bootstrap",
		"sandbox-admin",
	} {
		u, err := env.Environment.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
		if err != nil {
			return fmt.Errorf("adding user %s: %w", user, err)
		}
		kc, err := u.KubeConfig()
		if err != nil {
			return err
		}
		path := filepath.Join(s.dir, "kubeconfig-"+user[strings.LastIndex(user, ":")+1:])
		if err := os.WriteFile(path, kc, 0o600); err != nil {
			return err
		}
		s.kubeconfig[user] = path
	}
	fmt.Fprintf(s.out, "  kube-apiserver at %s\n", env.Config.Host)
	return nil
}

// startBackends starts the 3scale and Keycloak simulators, or uses the real systems
// the flags name.
func (s *sandbox) startBackends(ctx context.Context) error {
	token := os.Getenv(envThreescaleToken)
	if s.tsURL = s.opts.threescaleURL; s.tsURL == "" {
		var err error
		if token, err = randomToken(); err != nil {
			return err
		}
		sim := threescalesim.New(threescalesim.Config{Token: token, Tenant: "maas", Domain: "apps.sandbox.local"})
		sim.SeedAccounts("developer", 3)
		if s.tsURL, err = s.listen(sim); err != nil {
			return err
		}
		fmt.Fprintf(s.out, "  3scale Admin API simulator at %s (3 developer accounts)\n", s.tsURL)
	} else {
		fmt.Fprintf(s.out, "  3scale tenant at %s\n", s.tsURL)
	}
	s.kcUser, s.kcPassword = os.Getenv(envKeycloakUser), os.Getenv(envKeycloakPassword)
	if s.kcUser == "" {
		s.kcUser = "admin"
	}
	if s.kcURL = s.opts.keycloakURL; s.kcURL == "" {
		var err error
		if s.kcPassword, err = randomToken(); err != nil {
			return err
		}
		if s.kcURL, err = s.listen(kcsim.New(kcsim.WithAdminUser(s.kcUser, s.kcPassword))); err != nil {
			return err
		}
		fmt.Fprintf(s.out, "  Keycloak simulator at %s\n", s.kcURL)
	} else {
		fmt.Fprintf(s.out, "  Keycloak at %s\n", s.kcURL)
	}
	var err error
	if s.client, err = threescale.New(ctx, threescale.Options{AdminURL: s.tsURL, Token: token}); err != nil {
		return err
	}
	return s.createSecrets(ctx, token)
}

// createSecrets stores the credentials where the chart's values would point.
func (s *sandbox) createSecrets(ctx context.Context, token string) error {
	objs := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: tokenSecret, Namespace: systemNamespace}, StringData: map[string]string{"token": token}},
		{ObjectMeta: metav1.ObjectMeta{Name: keycloakSecret, Namespace: systemNamespace}, StringData: map[string]string{"username": s.kcUser, "password": s.kcPassword}},
		{ObjectMeta: metav1.ObjectMeta{Name: "llm-metrics-policy", Namespace: "threescale"}, StringData: map[string]string{"init.lua": "return require('llm_metrics')"}},
	}
	for _, ns := range []string{systemNamespace, "threescale"} {
		if err := s.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	for _, o := range objs {
		if err := s.env.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("creating Secret %s/%s: %w", o.Namespace, o.Name, err)
		}
	}
	return nil
}

// listen serves h on a loopback port and returns its URL.
func (s *sandbox) listen(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

func (s *sandbox) printAccess() {
	fmt.Fprintf(s.out, "\nThe sandbox stays up (Ctrl-C ends it):\n")
	fmt.Fprintf(s.out, "  kubectl --kubeconfig %s get isvc -A -L maas.io/state\n", s.kubeconfig["sandbox-admin"])
	fmt.Fprintf(s.out, "  3scale Admin API: %s (token in Secret %s/%s)\n", s.tsURL, systemNamespace, tokenSecret)
	fmt.Fprintf(s.out, "  Keycloak: %s (admin password in Secret %s/%s)\n", s.kcURL, systemNamespace, keycloakSecret)
	fmt.Fprintf(s.out, "  webhook serve log: %s\n", filepath.Join(s.dir, "serve.log"))
}

// close stops what the run started, in reverse order.
func (s *sandbox) close() error {
	var errs []error
	if s.serve != nil && s.serve.Process != nil {
		_ = s.serve.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- s.serve.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.serve.Process.Kill()
		}
	}
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	if s.env != nil {
		errs = append(errs, s.env.Stop())
	}
	return errors.Join(errs...)
}
