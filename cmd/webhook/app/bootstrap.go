package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2/textlogger"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/maas-io/maas-webhook/pkg/bootstrap"
)

// bootstrapOptions are the flags of the bootstrap command. The kubeconfig flag is
// controller-runtime's own, so that the client configuration loads the standard way
// (--kubeconfig, else KUBECONFIG, else in-cluster, else ~/.kube/config).
type bootstrapOptions struct {
	configFile string
	dryRun     bool
	verbosity  int
}

func newBootstrapCommand() *cobra.Command {
	o := &bootstrapOptions{}
	cmd := &cobra.Command{
		Use:   "bootstrap --config FILE [--dry-run] [--kubeconfig FILE]",
		Short: "Prepare Keycloak, 3scale and cert-manager once per cluster (idempotent)",
		Long: `bootstrap makes one idempotent pass: the Keycloak realm and client the developer
portal signs in with (its credentials stored in a Secret), the webhook's cert-manager
Certificate, the 3scale operator's APIManager and CustomPolicyDefinition (waiting until
the APIManager is Available), and the 3scale tenant's SSO integration, open portal and
settings. It prints one line per object: what it created, updated, left unchanged or
skipped. --dry-run reads everything and prints the plan without writing anywhere.
Credentials come from the Kubernetes Secrets the configuration names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			log := textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(o.verbosity), textlogger.Output(cmd.ErrOrStderr())))
			return o.run(logr.NewContext(cmd.Context(), log), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.configFile, "config", "", "bootstrap configuration file (see examples/bootstrap.yaml)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the plan without writing to Kubernetes, Keycloak or 3scale")
	cmd.Flags().IntVarP(&o.verbosity, "v", "v", 0, "log verbosity of the log lines on standard error (never secrets)")
	if f := flag.CommandLine.Lookup(config.KubeconfigFlagName); f != nil {
		cmd.Flags().AddGoFlag(f)
	}
	return cmd
}

func (o *bootstrapOptions) validate() error {
	if o.configFile == "" {
		return errors.New("--config is required")
	}
	return nil
}

func (o *bootstrapOptions) run(ctx context.Context, stdout io.Writer) error {
	cfg, err := bootstrap.LoadConfig(o.configFile)
	if err != nil {
		return err
	}
	restCfg, err := config.GetConfig()
	if err != nil {
		return fmt.Errorf("load Kubernetes client configuration: %w", err)
	}
	scheme, err := bootstrap.NewScheme()
	if err != nil {
		return err
	}
	c, err := client.New(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("create Kubernetes client: %w", err)
	}
	actions, err := bootstrap.Run(ctx, bootstrap.Options{Config: cfg, Client: c, DryRun: o.dryRun, Out: stdout})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	logr.FromContextOrDiscard(ctx).Info("Bootstrap finished", "actions", len(actions))
	return nil
}
