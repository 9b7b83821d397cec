// Command sandbox runs the whole of maas-webhook on one machine with nothing installed
// but Go: a real kube-apiserver and etcd with the KServe, 3scale-operator and
// cert-manager CRDs, the 3scale and Keycloak simulators on loopback, the real `webhook
// bootstrap`, and the real `webhook serve` as a separate process that the API server
// calls over TLS. It applies example models, plays KServe's part, waits for the sync,
// prints what 3scale and the portal now hold, withdraws one model, and exits 0 only if
// every expected outcome happened. `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o options
	flag.BoolVar(&o.keep, "keep", false, "stay up after the demo, printing a kubeconfig path and the simulator URLs")
	flag.StringVar(&o.workDir, "workdir", "", "directory for the kubeconfig, configuration, certificates and logs (a new temporary one when empty)")
	flag.StringVar(&o.threescaleURL, "threescale-admin-url", "", "a real 3scale tenant's admin portal instead of the simulator (token in $MAAS_SANDBOX_3SCALE_TOKEN)")
	flag.StringVar(&o.keycloakURL, "keycloak-url", "", "a real Keycloak instead of the simulator (master-realm admin in $MAAS_SANDBOX_KEYCLOAK_USER, default admin, and $MAAS_SANDBOX_KEYCLOAK_PASSWORD)")
	flag.StringVar(&o.keycloakBasePath, "keycloak-base-path", "keycloak", "keycloak (Keycloak 17+) or rhsso (Red Hat SSO 7, under /auth), with --keycloak-url")
	flag.StringVar(&o.portalHost, "portal-host", portalHost, "the developer portal's host, for the Keycloak client's redirect URI")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}
