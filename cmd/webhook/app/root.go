// Package app holds the subcommands of the webhook binary, one options struct each.
package app

import (
	"github.com/spf13/cobra"
)

// NewRootCommand returns the webhook command with every subcommand.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "webhook",
		Short: "Publish annotated KServe InferenceServices through 3scale API Management",
		Long: `maas-webhook turns a KServe InferenceService annotated with maas.io/expose: "true"
into a 3scale product that developers find in the portal and call with their API keys.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand(), newRenderCommand())
	root.AddCommand(newServeCommand())
	root.AddCommand(newBootstrapCommand())
	return root
}
