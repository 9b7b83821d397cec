package threescale_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/threescale"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

func TestErrorPaths(t *testing.T) {
	ctx := context.Background()
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	acct := sim.SeedAccounts("dev", 1)[0]
	c := newClient(t, fastOptions(ts, sim.Token()))
	prod, err := c.CreateProduct(ctx, "P", porta.Params{"system_name": "pp"})
	check(t, err)
	plan, err := c.CreateApplicationPlan(ctx, prod.ID, porta.Params{"name": "Basic", "state_event": "publish"})
	check(t, err)
	sps, err := c.ListServicePlans(ctx, prod.ID)
	check(t, err)
	_, err = c.CreateServiceSubscription(ctx, acct, sps[0].ID)
	check(t, err)
	be, err := c.CreateBackend(ctx, porta.Params{"name": "Bee", "private_endpoint": "https://b.example.com"})
	check(t, err)
	_, err = c.CreateBackendUsage(ctx, prod.ID, be.ID, "/")
	check(t, err)
	_, err = c.DeployStaging(ctx, prod.ID)
	check(t, err)
	_, err = c.PromoteToProduction(ctx, prod.ID, 1)
	check(t, err)
	wrong := newClient(t, fastOptions(ts, "wrong-token"))

	tests := []struct {
		name    string
		call    func() error
		is      []error
		message string
	}{
		{"duplicate system name", func() error {
			_, err := c.CreateProduct(ctx, "P2", porta.Params{"system_name": "pp"})
			return err
		}, []error{threescale.ErrConflict, threescale.ErrValidation}, "system_name: has already been taken"},
		{"not found", func() error { _, err := c.Product(ctx, 999999); return err }, []error{threescale.ErrNotFound}, "404 Not Found: Not found"},
		{"find by system name", func() error { _, err := c.FindBackend(ctx, "nope"); return err }, []error{threescale.ErrNotFound}, `FindBackend "nope"`},
		{"wrong token", func() error { _, err := wrong.ListProducts(ctx); return err }, []error{threescale.ErrForbidden}, "Access denied"},
		{"publish twice", func() error { _, err := c.PublishApplicationPlan(ctx, prod.ID, plan.ID); return err },
			[]error{threescale.ErrValidation}, `state_event: cannot transition via "publish"`},
		{"already subscribed", func() error { _, err := c.CreateServiceSubscription(ctx, acct, sps[0].ID); return err },
			[]error{threescale.ErrAlreadySubscribed, threescale.ErrConflict}, "base: already subscribed to this service"},
		{"promote twice", func() error { _, err := c.PromoteToProduction(ctx, prod.ID, 1); return err },
			[]error{threescale.ErrConflict}, "version: has already been taken"},
		{"no production config", func() error {
			p2, err := c.CreateProduct(ctx, "Queue", nil)
			check(t, err)
			_, err = c.LatestProxyConfig(ctx, p2.ID, threescale.EnvProduction)
			return err
		}, []error{threescale.ErrNotFound}, "production config"},
		{"blank name", func() error {
			_, err := c.CreateBackend(ctx, porta.Params{"private_endpoint": "https://x"})
			return err
		},
			[]error{threescale.ErrValidation}, "name: can't be blank"},
		{"backend in use", func() error { return c.DeleteBackend(ctx, be.ID) }, []error{threescale.ErrForbidden}, "used by at least one Product"},
		{"limit period", func() error {
			ms, err := c.ListProductMetrics(ctx, prod.ID)
			check(t, err)
			_, err = c.CreateLimit(ctx, plan.ID, ms[0].ID, "fortnight", 1)
			return err
		}, []error{threescale.ErrValidation}, "period: is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("want an error")
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
		})
	}
}

func TestPaginationDeveloperAccounts(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	sim.SeedAccounts("dev", 1200)
	c := newClient(t, fastOptions(ts, sim.Token()))
	accounts, err := c.ListDeveloperAccounts(context.Background())
	check(t, err)
	seen := map[int64]bool{}
	for _, a := range accounts {
		seen[*a.ID] = true
	}
	if diff := cmp.Diff([]int{1200, 1200}, []int{len(accounts), len(seen)}); diff != "" {
		t.Errorf("accounts, distinct (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(3, sim.CallCount("accounts.list")); diff != "" {
		t.Errorf("pages requested (-want +got):\n%s", diff)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		faults    []threescalesim.Fault
		opts      func(*threescale.Options)
		wantErr   error
		wantCalls int
	}{
		{"burst of 503s is retried", []threescalesim.Fault{threescalesim.Fault503, threescalesim.Fault503, threescalesim.Fault503}, nil, nil, 4},
		{"500 is retried", []threescalesim.Fault{threescalesim.Fault500}, nil, nil, 2},
		{"timeout is retried", []threescalesim.Fault{threescalesim.FaultTimeout},
			func(o *threescale.Options) { o.Timeout = 50 * time.Millisecond }, nil, 2},
		{"retries exhausted", []threescalesim.Fault{threescalesim.Fault503, threescalesim.Fault503, threescalesim.Fault503},
			func(o *threescale.Options) { o.MaxRetries = 2 }, threescale.ErrUnavailable, 3},
		{"long Retry-After fails fast", []threescalesim.Fault{threescalesim.Fault429(3600)}, nil, threescale.ErrUnavailable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
			opts := fastOptions(ts, sim.Token())
			if tt.opts != nil {
				tt.opts(&opts)
			}
			c := newClient(t, opts)
			sim.Script("services.list", tt.faults...)
			_, err := c.ListProducts(context.Background())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantCalls, sim.CallCount("services.list")); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidationIsNotRetried(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	c := newClient(t, fastOptions(ts, sim.Token()))
	_, err := c.CreateProduct(context.Background(), "API again", porta.Params{"system_name": "api"})
	if !threescale.IsValidation(err) {
		t.Fatalf("err = %v, want a validation error", err)
	}
	if diff := cmp.Diff(1, sim.CallCount("services.create")); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// requestTimes returns the simulator's arrival times for an operation.
func requestTimes(sim *threescalesim.Server, op string) []time.Time {
	var out []time.Time
	for _, r := range sim.Requests() {
		if r.Op == op {
			out = append(out, r.Time)
		}
	}
	return out
}

func TestRetryAfterIsHonoured(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	c := newClient(t, fastOptions(ts, sim.Token()))
	sim.Script("services.list", threescalesim.Fault429(1))
	_, err := c.ListProducts(context.Background())
	check(t, err)
	times := requestTimes(sim, "services.list")
	if len(times) != 2 {
		t.Fatalf("requests = %d, want 2", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Errorf("retry came %v after the 429, want at least the Retry-After of 1s", gap)
	}
}

func TestRateLimitHolds(t *testing.T) {
	const qps, calls = 20, 21
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	opts := fastOptions(ts, sim.Token())
	opts.QPS, opts.Burst, opts.MaxConcurrency = qps, 1, 8
	c := newClient(t, opts)
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			if _, err := c.Product(context.Background(), 1); !errors.Is(err, threescale.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	wg.Wait()
	times := requestTimes(sim, "services.read")
	first, last := times[0], times[0]
	for _, at := range times {
		if at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	// With burst 1 the limiter spaces n tokens by (n-1)/qps; one interval of slack
	// covers the first request arriving later than its token was granted.
	if want := time.Duration(calls-2) * time.Second / qps; last.Sub(first) < want {
		t.Errorf("%d requests spanned %v by the simulator's clock, want at least %v", len(times), last.Sub(first), want)
	}
}

// leakTransport fails like net/http does with the token in the URL, as
// porta-go-client's access_token URLs would produce.
type leakTransport struct{ token string }

func (l leakTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return nil, &url.Error{Op: req.Method, URL: req.URL.String() + "?access_token=" + l.token, Err: errors.New("connection refused by " + l.token)}
}

func TestTokenNeverLeaks(t *testing.T) {
	const token = "tok-SECRET-1234567890"
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{Token: token})
	var logs bytes.Buffer
	var mu sync.Mutex
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(&logs, prefix, args)
	}, funcr.Options{Verbosity: 10})
	ctx := logr.NewContext(context.Background(), log)

	good := fastOptions(ts, token)
	good.MaxRetries = 1
	leaky := good
	leaky.HTTPClient = &http.Client{Transport: leakTransport{token: token}}
	insecure := good
	insecure.InsecureSkipVerify = true
	clients := map[string]threescale.Options{"good": good, "leaky": leaky, "insecure": insecure}

	var errs []error
	for _, name := range []string{"good", "leaky", "insecure"} {
		c, err := threescale.New(ctx, clients[name])
		check(t, err)
		sim.Script(threescalesim.AllOps, threescalesim.Fault503, threescalesim.Fault503, threescalesim.Fault429(1000))
		_, err = c.ListProducts(ctx)
		errs = append(errs, err)
		_, err = c.ListProducts(ctx)
		errs = append(errs, err)
		_, err = c.CreateBackend(ctx, porta.Params{"name": token})
		errs = append(errs, err)
		_, err = c.Product(ctx, 424242)
		errs = append(errs, err)
	}
	_, err := threescale.New(ctx, threescale.Options{AdminURL: "http://u:" + token + "@x", Token: token})
	errs = append(errs, err)
	_, err = threescale.ReadToken("/nonexistent/" + "token-file")
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d: want an error", i)
			continue
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("call %d: error contains the token: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Error("no log output captured; the test would prove nothing")
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("logs contain the token:\n%s", logs.String())
	}
}
