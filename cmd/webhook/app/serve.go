package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2/textlogger"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/maas-io/maas-webhook/pkg/certs"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/mutate"
)

// TLS modes of serve.
const (
	// TLSModeFiles serves tls.crt and tls.key from --cert-dir (a mounted cert-manager
	// Secret), reloaded when they change.
	TLSModeFiles = "files"
	// TLSModeSelfManaged issues and rotates the pair itself (package certs).
	TLSModeSelfManaged = "self-managed"
)

// DefaultMaxRequestBytes is the default of --max-request-bytes: the API server accepts
// request bodies up to 3 MiB and an UPDATE review carries the new and the old object
// (etcd keeps objects under 1.5 MiB), so 6 MiB admits every review the API server can send
// and refuses anything larger before reading it.
const DefaultMaxRequestBytes = 6 << 20

// leaderElectionID names the Lease the leader-elected controllers share.
const leaderElectionID = "maas-webhook.maas.io"

// ControllerSetup adds a controller to the manager; serve runs every one of them on the
// webhook's manager, leader-elected.
type ControllerSetup func(mgr manager.Manager, cfg config.Config) error

// serveOptions are the flags of the serve command.
type serveOptions struct {
	configFile               string
	kubeconfig               string
	verbosity                int
	webhookPort              int
	webhookBindAddress       string
	certDir                  string
	tlsMode                  string
	serviceName              string
	serviceNamespace         string
	webhookConfigName        string
	tlsSecretName            string
	tlsHosts                 []string
	healthProbeBindAddress   string
	metricsBindAddress       string
	leaderElect              bool
	leaderElectionNamespace  string
	enableHTTP2              bool
	controllerServiceAccount string
	serviceAccount           string
	maxRequestBytes          int64
	workers                  int

	// controllers run beside the webhook, leader-elected. newServeCommand adds the sync
	// controller (pkg/sync).
	controllers []ControllerSetup
}

func newServeCommand() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the mutating admission webhook (and, leader-elected, the controllers)",
		Long: `serve runs the admission webhook that validates the maas.io annotations of
InferenceServices and writes their defaults in, with health and readiness probes and
Prometheus metrics, on a controller-runtime manager that also runs the leader-elected
controllers. TLS comes from --cert-dir (cert-manager; reloaded when the files change) or,
with --tls-mode self-managed, from a CA and certificate the webhook keeps in a Secret,
rotates before expiry and writes into the MutatingWebhookConfiguration's caBundle.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.controllers = append(o.controllers, o.setupSync(ctx))
			return o.run(ctx)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func (o *serveOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.configFile, "config", "", "controller configuration file (required)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; in-cluster configuration or $KUBECONFIG when empty")
	fs.IntVarP(&o.verbosity, "v", "v", 0, "log verbosity; 1 logs every skipped admission request with its reason")
	fs.IntVar(&o.webhookPort, "webhook-port", webhook.DefaultPort, "port of the webhook server")
	fs.StringVar(&o.webhookBindAddress, "webhook-bind-address", "", "address the webhook server binds to; all when empty")
	fs.StringVar(&o.certDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory with tls.crt and tls.key (--tls-mode files)")
	fs.StringVar(&o.tlsMode, "tls-mode", TLSModeFiles, "where the serving certificate comes from: files or self-managed")
	fs.StringVar(&o.serviceName, "webhook-service-name", "maas-webhook", "name of the webhook's Service, for the self-managed certificate")
	fs.StringVar(&o.serviceNamespace, "webhook-service-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the webhook's Service and Secret (default $POD_NAMESPACE)")
	fs.StringVar(&o.webhookConfigName, "webhook-config-name", "maas-webhook", "MutatingWebhookConfiguration whose caBundle self-managed mode writes")
	fs.StringVar(&o.tlsSecretName, "tls-secret-name", "maas-webhook-tls", "Secret that holds the self-managed CA and certificate")
	fs.StringSliceVar(&o.tlsHosts, "tls-hosts", nil, "extra DNS names or IP addresses of the self-managed certificate, beside the Service's names")
	fs.StringVar(&o.healthProbeBindAddress, "health-probe-bind-address", ":8081", `address of /healthz and /readyz; "0" disables`)
	fs.StringVar(&o.metricsBindAddress, "metrics-bind-address", ":8080", `address of the Prometheus /metrics endpoint; "0" disables`)
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader for the controllers (the webhook serves on every replica)")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default --webhook-service-namespace)")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "serve HTTP/2 as well as HTTP/1.1 (off: HTTP/2 rapid-reset and stream attacks)")
	fs.StringVar(&o.controllerServiceAccount, "controller-service-account", "", `username allowed to write status.maas.io/* and the maas.io/state label (default "system:serviceaccount:<namespace>:<service account>")`)
	fs.StringVar(&o.serviceAccount, "service-account", envOr("SERVICE_ACCOUNT", "maas-webhook"), "service account of this process, for the default --controller-service-account (default $SERVICE_ACCOUNT, else maas-webhook)")
	fs.IntVar(&o.workers, "workers", 4, "InferenceServices the sync controller reconciles at once")
	fs.Int64Var(&o.maxRequestBytes, "max-request-bytes", DefaultMaxRequestBytes, "largest AdmissionReview body accepted; larger ones are refused with 413")
}

// envOr returns the environment variable key, or def when it is empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (o *serveOptions) validate() error {
	var errs []error
	if o.configFile == "" {
		errs = append(errs, errors.New("--config is required"))
	}
	if !slices.Contains([]string{TLSModeFiles, TLSModeSelfManaged}, o.tlsMode) {
		errs = append(errs, fmt.Errorf("--tls-mode %q is not supported: use files or self-managed", o.tlsMode))
	}
	if o.webhookPort < 1 || o.webhookPort > 65535 {
		errs = append(errs, fmt.Errorf("--webhook-port %d is not a port", o.webhookPort))
	}
	if o.workers < 1 {
		errs = append(errs, fmt.Errorf("--workers %d must be at least 1", o.workers))
	}
	if o.maxRequestBytes < 1 {
		errs = append(errs, fmt.Errorf("--max-request-bytes %d must be positive", o.maxRequestBytes))
	}
	if o.tlsMode == TLSModeSelfManaged && (o.serviceName == "" || o.serviceNamespace == "") {
		errs = append(errs, errors.New("--tls-mode self-managed needs --webhook-service-name and --webhook-service-namespace (or $POD_NAMESPACE)"))
	}
	if o.leaderElect && o.leaderElectionNamespace == "" && o.serviceNamespace == "" {
		errs = append(errs, errors.New("--leader-elect needs --leader-election-namespace, --webhook-service-namespace or $POD_NAMESPACE"))
	}
	if o.controllerUser() == "" {
		errs = append(errs, errors.New("set --controller-service-account, or --webhook-service-namespace (or $POD_NAMESPACE) and --service-account"))
	}
	return errors.Join(errs...)
}

// controllerUser is the username of the controller's service account.
func (o *serveOptions) controllerUser() string {
	switch {
	case o.controllerServiceAccount != "":
		return o.controllerServiceAccount
	case o.serviceNamespace == "" || o.serviceAccount == "":
		return ""
	}
	return "system:serviceaccount:" + o.serviceNamespace + ":" + o.serviceAccount
}

// serviceHosts are the names the API server may use for the webhook's Service.
func (o *serveOptions) serviceHosts() []string {
	svc := o.serviceName + "." + o.serviceNamespace
	return append([]string{svc + ".svc", svc + ".svc.cluster.local", svc, o.serviceName}, o.tlsHosts...)
}

func (o *serveOptions) restConfig() (*rest.Config, error) {
	if o.kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	}
	return ctrlconfig.GetConfig()
}

// run starts the manager and blocks until ctx ends or a part of it fails.
func (o *serveOptions) run(ctx context.Context) error {
	log := textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(o.verbosity)))
	ctrllog.SetLogger(log)
	cfg, err := config.Load(o.configFile)
	if err != nil {
		return err
	}
	restCfg, err := o.restConfig()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}

	tlsOpts := []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }}
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	var rotator *certs.Rotator
	webhookTLS := slices.Clone(tlsOpts)
	if o.tlsMode == TLSModeSelfManaged {
		// Its own uncached client: the Secret is read by name, so no Secret watch (and
		// no list RBAC) is needed, and another replica's write is seen at once.
		direct, err := client.New(restCfg, client.Options{Scheme: scheme})
		if err != nil {
			return fmt.Errorf("creating a client: %w", err)
		}
		rotator = &certs.Rotator{
			Client:               direct,
			Secret:               types.NamespacedName{Namespace: o.serviceNamespace, Name: o.tlsSecretName},
			WebhookConfiguration: o.webhookConfigName,
			Policy:               certs.DefaultPolicy(o.serviceHosts()),
		}
		webhookTLS = append(webhookTLS, func(c *tls.Config) { c.GetCertificate = rotator.GetCertificate })
	}
	leNamespace := o.leaderElectionNamespace
	if leNamespace == "" {
		leNamespace = o.serviceNamespace
	}
	mgr, err := manager.New(restCfg, manager.Options{
		Scheme:                        scheme,
		Logger:                        log,
		Metrics:                       metricsserver.Options{BindAddress: o.metricsBindAddress, TLSOpts: tlsOpts},
		HealthProbeBindAddress:        o.healthProbeBindAddress,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       leNamespace,
		LeaderElectionReleaseOnCancel: true,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: o.webhookBindAddress, Port: o.webhookPort, CertDir: o.certDir, TLSOpts: webhookTLS,
		}),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	hook := &mutate.Handler{Namespaces: mgr.GetClient(), Defaults: cfg.AnnotationDefaults(), ControllerUser: o.controllerUser()}
	mgr.GetWebhookServer().Register(mutate.Path, mutate.NewWebhook(hook, o.maxRequestBytes))
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return err
	}
	if rotator != nil {
		if err := mgr.Add(rotator); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("certificate", rotator.ReadyCheck); err != nil {
			return err
		}
	}
	for _, setup := range o.controllers {
		if err := setup(mgr, cfg); err != nil {
			return fmt.Errorf("setting up a controller: %w", err)
		}
	}
	log.Info("Starting", "webhookPort", o.webhookPort, "tlsMode", o.tlsMode, "controllerUser", o.controllerUser())
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}
