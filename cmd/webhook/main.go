// Command webhook is maas-webhook's single binary: serve, bootstrap, render and version.
package main

import (
	"fmt"
	"os"

	"github.com/maas-io/maas-webhook/cmd/webhook/app"
)

func main() {
	if err := app.NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
