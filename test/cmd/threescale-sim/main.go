// Command threescale-sim serves the 3scale Admin API simulator on a loopback port,
// for manual testing and for tools that cannot embed it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "threescale-sim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("threescale-sim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	var cfg threescalesim.Config
	fs.StringVar(&cfg.Tenant, "tenant", "acme", "tenant name used in the default gateway endpoints")
	fs.StringVar(&cfg.Domain, "domain", "example.com", "wildcard domain of the default gateway endpoints")
	accounts := fs.Int("accounts", 0, "developer accounts to seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The token is read from the environment, never from flags (they show in ps).
	cfg.Token = os.Getenv("THREESCALE_SIM_TOKEN")
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("parse -addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("-addr must be a loopback address")
	}
	sim := threescalesim.New(cfg)
	sim.SeedAccounts("developer", *accounts)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Printf("threescale-sim listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
