package app

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/kube"
	"github.com/maas-io/maas-webhook/pkg/config"
	maassync "github.com/maas-io/maas-webhook/pkg/sync"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// setupSync returns the ControllerSetup of the sync controller: a 3scale client with
// the token read from its Secret, and the controller on the manager (leader-elected).
// Without threescale.adminURL the process serves the webhook alone.
func (o *serveOptions) setupSync(ctx context.Context) ControllerSetup {
	return func(mgr manager.Manager, cfg config.Config) error {
		log := mgr.GetLogger()
		if cfg.RequireThreeScale() != nil {
			log.Info("Sync controller off: the configuration has no threescale.adminURL")
			return nil
		}
		ref := cfg.ThreeScale.TokenSecretRef
		if ref.Namespace == "" {
			ref.Namespace = o.serviceNamespace
		}
		// The API reader: one GET of one named Secret, so no Secret watch (nor list RBAC).
		token, err := kube.ReadSecretKey(ctx, mgr.GetAPIReader(), ref.Namespace, ref.Name, ref.Key)
		if err != nil {
			return fmt.Errorf("reading the 3scale token: %w", err)
		}
		var caBundle []byte
		if f := cfg.ThreeScale.CABundleFile; f != "" {
			if caBundle, err = os.ReadFile(f); err != nil {
				return fmt.Errorf("threescale.caBundleFile: %w", err)
			}
		}
		tc, err := threescale.New(ctx, threescale.Options{
			AdminURL: cfg.ThreeScale.AdminURL, Token: token, CABundle: caBundle,
			InsecureSkipVerify: cfg.ThreeScale.InsecureSkipVerify,
			QPS:                cfg.ThreeScale.RateLimit.QPS, Burst: cfg.ThreeScale.RateLimit.Burst,
			MaxConcurrency: cfg.ThreeScale.Concurrency, Timeout: cfg.ThreeScale.Timeout.Duration,
			Registerer: prometheus.Registerer(ctrlmetrics.Registry),
		})
		if err != nil {
			return fmt.Errorf("creating the 3scale client: %w", err)
		}
		return maassync.SetupWithManager(mgr, maassync.Options{Config: cfg, Client: tc, Workers: o.workers})
	}
}
