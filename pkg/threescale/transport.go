package threescale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
)

// maxBody bounds a buffered response body (ActiveDocs specs are the largest).
const maxBody = 32 << 20

// opTransport is the RoundTripper of one operation. porta-go-client builds its
// requests without a context, so the transport attaches the operation's context;
// each attempt waits for the global limiter and a concurrency slot, runs with its
// own timeout, and buffers the body so the slot is released before decoding.
type opTransport struct {
	c   *Client
	ctx context.Context
	op  string
	// lastStatus and lastBody are those of the last response, for errors.
	lastStatus int
	lastBody   []byte
}

// RoundTrip sends req with retries.
func (t *opTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	log := logr.FromContextOrDiscard(t.ctx)
	backoff := wait.Backoff{
		Duration: t.c.opts.InitialBackoff, Factor: 2, Jitter: 0.5,
		Steps: max(t.c.opts.MaxRetries, 0) + 1, Cap: t.c.opts.MaxBackoff,
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.attempt(req)
		delay := backoff.Step()
		retry, pause := t.retryable(resp, err, attempt, delay)
		if !retry {
			return resp, err
		}
		t.c.metrics.retries.WithLabelValues(t.op).Inc()
		log.V(1).Info("Retrying 3scale request", "operation", t.op, "attempt", attempt+1,
			"status", codeLabel(t.statusOf(resp)), "delay", pause.String())
		if err := sleep(t.ctx, pause); err != nil {
			return nil, err
		}
	}
}

func (t *opTransport) statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// retryable decides whether to retry and after how long: 5xx, 429 and transport
// failures (timeouts included) are retried, other statuses never; a Retry-After
// header lengthens the delay; the caller's deadline and MaxRetryAfter stop it.
func (t *opTransport) retryable(resp *http.Response, err error, attempt int, delay time.Duration) (bool, time.Duration) {
	if attempt >= t.c.opts.MaxRetries || t.ctx.Err() != nil {
		return false, 0
	}
	if err == nil {
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return false, 0
		}
		if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if ra > t.c.opts.MaxRetryAfter {
				return false, 0
			}
			delay = max(delay, ra)
		}
	}
	if dl, ok := t.ctx.Deadline(); ok && time.Until(dl) < delay {
		return false, 0
	}
	return true, delay
}

// retryAfter parses Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt sends one request and returns the response with a buffered body.
func (t *opTransport) attempt(req *http.Request) (*http.Response, error) {
	t.lastStatus, t.lastBody = 0, nil
	if err := t.c.limiter.Wait(t.ctx); err != nil {
		return nil, fmt.Errorf("wait for rate limiter: %w", err)
	}
	select {
	case t.c.slots <- struct{}{}:
	case <-t.ctx.Done():
		return nil, fmt.Errorf("wait for a free connection slot: %w", t.ctx.Err())
	}
	defer func() { <-t.c.slots }()

	ctx, cancel := context.WithTimeout(t.ctx, t.c.opts.Timeout)
	defer cancel()
	out := req.Clone(ctx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("rewind request body: %w", err)
		}
		out.Body = body
	}
	resp, err := t.c.base.RoundTrip(out)
	if err != nil {
		t.c.metrics.requests.WithLabelValues(t.op, codeLabel(0)).Inc()
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	t.c.metrics.requests.WithLabelValues(t.op, codeLabel(resp.StatusCode)).Inc()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return nil, fmt.Errorf("read response: %w", context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("read response: %w", err)
	}
	t.lastStatus, t.lastBody = resp.StatusCode, body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
