package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/bootstrap"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/keycloak"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/operator"
	"github.com/maas-io/maas-webhook/pkg/certs"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// bootstrap writes the job's configuration and runs the real `webhook bootstrap`, while
// playing the 3scale operator's part: it reports the APIManager Available once the job
// has created it.
func (s *sandbox) bootstrap(ctx context.Context) error {
	cfg := bootstrap.Config{
		Namespace: systemNamespace,
		Keycloak: bootstrap.Keycloak{
			URL: s.kcURL, BasePath: keycloak.BasePathMode(s.opts.keycloakBasePath),
			AdminSecret: bootstrap.AdminSecret{Name: keycloakSecret},
		},
		ThreeScale: bootstrap.ThreeScale{
			AdminURL: s.tsURL, PortalHost: s.opts.portalHost,
			AccessTokenSecret: &bootstrap.SecretKeyRef{Name: tokenSecret, Key: "token"},
		},
		Operator: &bootstrap.Operator{
			Namespace:        "threescale",
			APIManager:       bootstrap.APIManager{WildcardDomain: "apps.sandbox.local", TenantName: "maas"},
			Policy:           bootstrap.Policy{SecretName: "llm-metrics-policy"},
			AvailableTimeout: metav1.Duration{Duration: 2 * time.Minute},
			PollInterval:     metav1.Duration{Duration: time.Second},
		},
	}
	path := filepath.Join(s.dir, "bootstrap.yaml")
	if err := writeYAML(path, cfg); err != nil {
		return err
	}
	operatorCtx, stopOperator := context.WithCancel(ctx)
	defer stopOperator()
	go s.playOperator(operatorCtx)

	cmd := exec.CommandContext(ctx, s.webhookBin, "bootstrap", "--config", path,
		"--kubeconfig", s.kubeconfig["system:serviceaccount:"+systemNamespace+":maas-bootstrap"])
	logFile, err := os.Create(filepath.Join(s.dir, "bootstrap.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	// What it did goes to the screen; its log lines to a file, as a Job's would.
	cmd.Stdout, cmd.Stderr = prefixWriter(s.out, "  bootstrap | "), logFile
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("webhook bootstrap (log %s): %w", logFile.Name(), err)
	}
	sso, err := s.client.ListAuthenticationProviders(ctx)
	if err != nil {
		return err
	}
	ok := len(sso) == 1 && sso[0].Kind == "keycloak" && sso[0].Published && sso[0].ClientID == keycloak.ClientID
	s.expect(ok, "bootstrap: the developer portal signs in through Keycloak (SSO integration of kind keycloak, published)")
	return nil
}

// playOperator stands in for the 3scale operator: it marks the APIManager Available.
func (s *sandbox) playOperator(ctx context.Context) {
	am := &unstructured.Unstructured{}
	am.SetGroupVersionKind(operator.APIManagerGVK)
	_ = wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if err := s.env.Client.Get(ctx, client.ObjectKey{Namespace: "threescale", Name: bootstrap.DefaultAPIManagerName}, am); err != nil {
			return false, nil
		}
		am.Object["status"] = map[string]any{
			"deployments": map[string]any{}, // required by the CRD's status schema
			"conditions":  []any{map[string]any{"type": "Available", "status": "True", "reason": "Sandbox", "message": "played by the sandbox"}},
		}
		return s.env.Client.Status().Update(ctx, am) == nil, nil
	})
}

// startServe writes the controller configuration and a serving certificate for the
// loopback address, registers the webhook configuration of manifests/ pointing at that
// address, and starts the real `webhook serve` as its own process.
func (s *sandbox) startServe(ctx context.Context) error {
	cfg, err := config.Load(filepath.Join(s.root, "examples", "config.yaml"))
	if err != nil {
		return err
	}
	cfg.ThreeScale.AdminURL = s.tsURL
	cfg.ThreeScale.TokenSecretRef = config.SecretKeyRef{Namespace: systemNamespace, Name: tokenSecret, Key: "token"}
	cfgPath := filepath.Join(s.dir, "config.yaml")
	if err := writeYAML(cfgPath, cfg); err != nil {
		return err
	}

	now := time.Now()
	ca, err := certs.NewCA("maas-sandbox-ca", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return err
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		return err
	}
	certDir := filepath.Join(s.dir, "certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(certDir, "tls.crt"), leaf.CertPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(certDir, "tls.key"), leaf.KeyPEM, 0o600); err != nil {
		return err
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	healthPort, err := freePort()
	if err != nil {
		return err
	}
	if err := s.registerWebhook(ctx, port, ca.CertPEM); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(s.dir, "serve.log"))
	if err != nil {
		return err
	}
	controller := "system:serviceaccount:" + systemNamespace + ":" + serviceAccount
	s.serve = exec.Command(s.webhookBin, "serve", "--config", cfgPath, "--kubeconfig", s.kubeconfig[controller],
		"--webhook-bind-address", "127.0.0.1", "--webhook-port", strconv.Itoa(port), "--cert-dir", certDir,
		"--health-probe-bind-address", "127.0.0.1:"+strconv.Itoa(healthPort), "--metrics-bind-address", "0",
		"--webhook-service-namespace", systemNamespace, "--controller-service-account", controller, "-v", "1")
	s.serve.Stdout, s.serve.Stderr = logFile, logFile
	s.serve.Env = append(os.Environ(), "POD_NAMESPACE="+systemNamespace)
	if err := s.serve.Start(); err != nil {
		return fmt.Errorf("starting webhook serve: %w", err)
	}
	fmt.Fprintf(s.out, "  webhook serve (pid %d) on https://127.0.0.1:%d, log %s\n", s.serve.Process.Pid, port, logFile.Name())
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if s.serve.ProcessState != nil {
			return false, fmt.Errorf("webhook serve exited: see %s", logFile.Name())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("webhook serve did not become ready (log %s): %w", logFile.Name(), err)
	}
	fmt.Fprintln(s.out, "  ready")
	return nil
}

// registerWebhook creates manifests/base/mutatingwebhook.yaml with its client pointed at
// the loopback address, since the sandbox has no Service for the API server to call.
func (s *sandbox) registerWebhook(ctx context.Context, port int, caPEM []byte) error {
	data, err := os.ReadFile(filepath.Join(s.root, "manifests", "base", "mutatingwebhook.yaml"))
	if err != nil {
		return err
	}
	mwc := &admissionv1.MutatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(data, mwc); err != nil {
		return fmt.Errorf("manifests/base/mutatingwebhook.yaml: %w", err)
	}
	for i := range mwc.Webhooks {
		path := "/"
		if svc := mwc.Webhooks[i].ClientConfig.Service; svc != nil && svc.Path != nil {
			path = *svc.Path
		}
		url := fmt.Sprintf("https://127.0.0.1:%d%s", port, path)
		mwc.Webhooks[i].ClientConfig = admissionv1.WebhookClientConfig{URL: &url, CABundle: caPEM}
	}
	return s.env.Client.Create(ctx, mwc)
}

func writeYAML(path string, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// productPlans returns a product's application plans with their limits, as
// "name (state): 60 hits/minute, ...".
func (s *sandbox) productPlans(ctx context.Context, productID int64) ([]string, error) {
	metrics, err := s.client.ListProductMetrics(ctx, productID)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, m := range metrics {
		names[m.ID] = m.SystemName
	}
	plans, err := s.client.ListApplicationPlans(ctx, productID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range plans {
		limits, err := s.client.ListLimits(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		line := fmt.Sprintf("%s (%s)", p.SystemName, p.State)
		for i, l := range limits {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			line += fmt.Sprintf("%s%d %s/%s", sep, l.Value, names[l.MetricID], l.Period)
		}
		out = append(out, line)
	}
	return out, nil
}

// findProduct reports whether a product with the system name exists.
func (s *sandbox) findProduct(ctx context.Context, systemName string) (bool, error) {
	_, err := s.client.FindProduct(ctx, systemName)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, threescale.ErrNotFound):
		return false, nil
	}
	return false, err
}
