package threescale

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the client's Prometheus collectors, labelled by operation.
type metrics struct {
	calls    *prometheus.CounterVec
	errors   *prometheus.CounterVec
	requests *prometheus.CounterVec
	retries  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maas_threescale_calls_total",
			Help: "3scale Admin API operations started, by operation.",
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maas_threescale_errors_total",
			Help: "3scale Admin API operations that failed, by operation and final HTTP status (\"none\" without a response).",
		}, []string{"operation", "code"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maas_threescale_requests_total",
			Help: "HTTP requests (attempts, pages and retries included) to the 3scale Admin API, by operation and status.",
		}, []string{"operation", "code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maas_threescale_retries_total",
			Help: "Retried HTTP requests to the 3scale Admin API, by operation.",
		}, []string{"operation"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "maas_threescale_call_duration_seconds",
			Help:    "Duration of 3scale Admin API operations (retries and waits included), by operation.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"operation"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.calls, err = register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under the
// same descriptor, so that several clients can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// codeLabel is the status label: the HTTP status, or "none" without a response.
func codeLabel(status int) string {
	if status == 0 {
		return "none"
	}
	return strconv.Itoa(status)
}
