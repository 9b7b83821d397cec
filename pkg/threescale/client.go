// Package threescale is the only code that talks to the 3scale Account Management
// (Admin) API. It uses porta-go-client where that library covers an operation and
// thin calls of its own where it does not (service plans, subscriptions, provider
// account, settings, SSO integrations); both go through one HTTP path that adds the
// per-call context and deadline, one global rate limiter, a concurrency cap,
// retries with exponential backoff and jitter (5xx, timeouts, 429 with
// Retry-After; never other 4xx), Prometheus metrics per operation, typed errors and
// redaction of the access token from every error and log line.
package threescale

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Options configure a Client. AdminURL and Token are required; zero values of the
// others select the defaults documented on each field.
type Options struct {
	// AdminURL is the tenant's admin portal, e.g. https://acme-admin.example.com.
	AdminURL string
	// Token is the access token value (read it with ReadToken or from a Secret).
	Token string
	// HTTPClient, when set, supplies the transport (and redirect policy); CABundle
	// and InsecureSkipVerify are then ignored. Its Timeout is not used: see Timeout.
	HTTPClient *http.Client
	// CABundle is a PEM bundle trusted in addition to the system roots.
	CABundle []byte
	// InsecureSkipVerify disables TLS verification (logged as a warning).
	InsecureSkipVerify bool
	// QPS is the global request rate limit. Default 10.
	QPS float64
	// Burst is the limiter's burst. Default 10.
	Burst int
	// MaxConcurrency caps requests in flight across all callers. Default 4.
	MaxConcurrency int
	// Timeout bounds one HTTP attempt. Default 30s.
	Timeout time.Duration
	// CallTimeout bounds one operation (retries and waits included) when the
	// caller's context has a later or no deadline. Default 5m.
	CallTimeout time.Duration
	// MaxRetries is how many times a failed attempt is retried. Default 5;
	// negative disables retries.
	MaxRetries int
	// InitialBackoff is the first retry delay, doubled per retry with jitter.
	// Default 500ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the retry delay. Default 30s.
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one fails the
	// call instead of waiting. Default 2m.
	MaxRetryAfter time.Duration
	// Registerer receives the client's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.QPS == 0 {
		o.QPS = 10
	}
	if o.Burst == 0 {
		o.Burst = 10
	}
	if o.MaxConcurrency == 0 {
		o.MaxConcurrency = 4
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 5
	}
	def(&o.Timeout, 30*time.Second)
	def(&o.CallTimeout, 5*time.Minute)
	def(&o.InitialBackoff, 500*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.MaxRetryAfter, 2*time.Minute)
	return o
}

func (o Options) validate() error {
	u, err := url.Parse(o.AdminURL)
	switch {
	case err != nil:
		return fmt.Errorf("admin URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return errors.New("admin URL: must be an absolute http(s) URL")
	case u.User != nil:
		return errors.New("admin URL: must not carry credentials")
	case o.Token == "":
		return errors.New("access token: must not be empty")
	case o.QPS < 0 || o.Burst < 0 || o.MaxConcurrency < 0:
		return errors.New("rate limit and concurrency: must not be negative")
	}
	return nil
}

// ReadToken reads an access token from a file (e.g. a mounted Secret key),
// trimming surrounding whitespace. The error never contains the token.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read 3scale access token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("read 3scale access token from %s: file is empty", path)
	}
	return tok, nil
}

// Client calls the 3scale Admin API of one tenant. It is safe for concurrent use;
// the rate limiter and concurrency cap are shared by all callers of one Client.
type Client struct {
	portal  *porta.AdminPortal
	token   string
	red     redactor
	base    http.RoundTripper
	redir   func(*http.Request, []*http.Request) error
	limiter *rate.Limiter
	slots   chan struct{}
	opts    Options
	metrics *metrics
}

// New validates the options and returns a Client. Warnings (such as disabled TLS
// verification) go to the logger in ctx.
func New(ctx context.Context, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("3scale client options: %w", err)
	}
	portal, err := porta.NewAdminPortalFromStr(opts.AdminURL)
	if err != nil {
		return nil, fmt.Errorf("3scale client options: admin URL: %w", err)
	}
	base, redir, err := baseTransport(opts)
	if err != nil {
		return nil, fmt.Errorf("3scale client options: %w", err)
	}
	if opts.InsecureSkipVerify && opts.HTTPClient == nil {
		logr.FromContextOrDiscard(ctx).Info("WARNING: TLS certificate verification of the 3scale Admin API is disabled", "adminURL", opts.AdminURL)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register 3scale client metrics: %w", err)
	}
	return &Client{
		portal: portal, token: opts.Token, red: redactor{token: opts.Token},
		base: base, redir: redir,
		limiter: rate.NewLimiter(rate.Limit(opts.QPS), opts.Burst),
		slots:   make(chan struct{}, opts.MaxConcurrency),
		opts:    opts, metrics: m,
	}, nil
}

func baseTransport(opts Options) (http.RoundTripper, func(*http.Request, []*http.Request) error, error) {
	if opts.HTTPClient != nil {
		rt := opts.HTTPClient.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		return rt, opts.HTTPClient.CheckRedirect, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerify} //nolint:gosec // opt-in, warned
	if len(opts.CABundle) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(opts.CABundle) {
			return nil, nil, errors.New("CA bundle: no PEM certificates found")
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return tr, nil, nil
}

// run executes one operation: fn makes its HTTP requests through hc, which routes
// them through the limiter, the concurrency cap and the retry loop. Failures
// become *Error.
func (c *Client) run(ctx context.Context, op, object string, fn func(hc *http.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	c.metrics.calls.WithLabelValues(op).Inc()
	t := &opTransport{c: c, ctx: ctx, op: op}
	start := time.Now()
	err := fn(&http.Client{Transport: t, CheckRedirect: c.redir})
	c.metrics.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err == nil {
		return nil
	}
	// Redact everything that reaches the message, the object name included (it may
	// echo caller input).
	e := &Error{Op: op, Object: c.red.redact(object), StatusCode: t.lastStatus}
	switch {
	case t.lastStatus >= http.StatusBadRequest:
		e.Fields, e.Message = parseErrorBody(t.lastBody)
		e.Message = c.red.redact(e.Message)
	case t.lastStatus != 0:
		// A response arrived but did not satisfy the caller (unexpected status or
		// an undecodable body).
		e.Message = c.red.redact(err.Error())
	default:
		e.Err = c.red.wrap(err)
	}
	c.metrics.errors.WithLabelValues(op, codeLabel(e.StatusCode)).Inc()
	logr.FromContextOrDiscard(ctx).V(1).Info("3scale call failed", "operation", op, "object", e.Object, "status", e.StatusCode, "error", e.Error())
	return e
}

// callPorta runs an operation through a porta-go-client bound to this call.
func (c *Client) callPorta(ctx context.Context, op, object string, fn func(pc *porta.ThreeScaleClient) error) error {
	return c.run(ctx, op, object, func(hc *http.Client) error {
		return fn(porta.NewThreeScale(c.portal, c.token, hc))
	})
}
