// Command keycloak-sim serves the Keycloak admin API simulator of test/keycloak on a
// loopback address, for manual runs of the bootstrap job and for tests in other
// processes. It prints the URL it serves once it listens.
//
//	KEYCLOAK_SIM_ADMIN_PASSWORD=secret keycloak-sim -listen 127.0.0.1:0 -base-path rhsso
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/maas-io/maas-webhook/test/keycloak"
)

// passwordEnv holds the seeded admin's password: secrets never come from flags.
const passwordEnv = "KEYCLOAK_SIM_ADMIN_PASSWORD"

type options struct {
	listen        string
	basePath      string
	adminUser     string
	tokenLifetime time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "keycloak-sim:", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8180", "loopback host:port to listen on (port 0 picks a free one)")
	flag.StringVar(&o.basePath, "base-path", "keycloak", `"keycloak" (no prefix, Keycloak 17+) or "rhsso" ("/auth", Red Hat SSO 7)`)
	flag.StringVar(&o.adminUser, "admin-user", "admin", "username of the seeded master realm admin; its password is read from $"+passwordEnv)
	flag.DurationVar(&o.tokenLifetime, "token-lifetime", keycloak.DefaultTokenLifetime, "lifetime of issued access tokens")
	flag.Parse()

	basePath, err := parseBasePath(o.basePath)
	if err != nil {
		return err
	}
	password := os.Getenv(passwordEnv)
	if password == "" {
		return fmt.Errorf("set $%s to the admin password", passwordEnv)
	}
	if err := checkLoopback(o.listen); err != nil {
		return err
	}

	sim := keycloak.New(
		keycloak.WithBasePath(basePath),
		keycloak.WithAdminUser(o.adminUser, password),
		keycloak.WithTokenLifetime(o.tokenLifetime),
	)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("keycloak simulator listening on http://%s%s\n", ln.Addr(), basePath)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

func parseBasePath(s string) (keycloak.BasePath, error) {
	switch s {
	case "keycloak":
		return keycloak.BasePathKeycloak, nil
	case "rhsso":
		return keycloak.BasePathRHSSO, nil
	}
	return "", fmt.Errorf(`-base-path %q: want "keycloak" or "rhsso"`, s)
}

// checkLoopback refuses listen addresses off the loopback interface: the simulator
// accepts any client and must not be reachable from other machines.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("parse -listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %q is not a loopback address", listen)
	}
	return nil
}
