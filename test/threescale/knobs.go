package threescalesim

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// AllOps, passed as the operation to a knob, applies it to every operation.
const AllOps = "*"

// Fault is one injected failure. The zero value means "no fault": in a script it
// lets that call through to the normal handler.
type Fault struct {
	// Status is the HTTP status to answer (500, 503, 429, ...); ignored when Timeout.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header (seconds or a date).
	RetryAfter string
	// Timeout holds the request without answering until the client gives up (or
	// Config.HangFor passes).
	Timeout bool
}

func (f Fault) none() bool { return f.Status == 0 && !f.Timeout }

// Common faults.
var (
	// Fault500 answers 500 Internal Server Error.
	Fault500 = Fault{Status: http.StatusInternalServerError}
	// Fault503 answers 503 Service Unavailable.
	Fault503 = Fault{Status: http.StatusServiceUnavailable}
	// FaultTimeout never answers in time.
	FaultTimeout = Fault{Timeout: true}
)

// Fault429 answers 429 Too Many Requests with Retry-After in seconds.
func Fault429(retryAfterSeconds int) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(retryAfterSeconds)}
}

// RequestRecord is one request as the simulator saw it.
type RequestRecord struct {
	// Time is when the request arrived, by Config.Clock.
	Time time.Time
	// Op is the operation name ("" for unrouted paths).
	Op string
	// Method is the HTTP method.
	Method string
	// Pattern is the route pattern (without extension).
	Pattern string
	// Path is the request path as sent (with extension).
	Path string
	// Params are the top-level parameter names sent in query and body.
	Params []string
	// Status is the status code answered.
	Status int
}

// CallKey identifies a counter: operation and HTTP method.
type CallKey struct {
	Op     string
	Method string
}

type probFault struct {
	p float64
	f Fault
}

type knobs struct {
	mu       sync.Mutex
	rnd      *rand.Rand
	latency  map[string]time.Duration
	prob     map[string]probFault
	scripts  map[string][]Fault
	requests []RequestRecord
}

func (k *knobs) init(seed uint64) {
	k.rnd = rand.New(rand.NewPCG(seed, seed))
	k.latency = map[string]time.Duration{}
	k.prob = map[string]probFault{}
	k.scripts = map[string][]Fault{}
}

// SetLatency adds a delay to every call of op (AllOps for all); 0 removes it.
func (s *Server) SetLatency(op string, d time.Duration) {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	s.knobs.latency[op] = d
}

// SetFaultProbability makes each call of op (AllOps for all) fail with f with
// probability p (0 removes the knob). The random source is seeded by Config.Seed.
func (s *Server) SetFaultProbability(op string, p float64, f Fault) {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	if p <= 0 {
		delete(s.knobs.prob, op)
		return
	}
	s.knobs.prob[op] = probFault{p: p, f: f}
}

// Script queues faults for the next calls of op (AllOps for any), one per call in
// order; a zero Fault lets that call through. Scripts take precedence over
// probabilities.
func (s *Server) Script(op string, faults ...Fault) {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	s.knobs.scripts[op] = append(s.knobs.scripts[op], faults...)
}

// ResetKnobs removes latency, probabilities and pending scripts.
func (s *Server) ResetKnobs() {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	clear(s.knobs.latency)
	clear(s.knobs.prob)
	clear(s.knobs.scripts)
}

// Requests returns a copy of every request recorded so far, in arrival order.
func (s *Server) Requests() []RequestRecord {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	return slices.Clone(s.knobs.requests)
}

// ResetRequests forgets the recorded requests (and so the call counters).
func (s *Server) ResetRequests() {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	s.knobs.requests = nil
}

// Calls counts the recorded requests by operation and method.
func (s *Server) Calls() map[CallKey]int {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	out := map[CallKey]int{}
	for _, r := range s.knobs.requests {
		out[CallKey{Op: r.Op, Method: r.Method}]++
	}
	return out
}

// CallCount counts the recorded requests of one operation (AllOps for all).
func (s *Server) CallCount(op string) int {
	s.knobs.mu.Lock()
	defer s.knobs.mu.Unlock()
	n := 0
	for _, r := range s.knobs.requests {
		if op == AllOps || r.Op == op {
			n++
		}
	}
	return n
}

func (k *knobs) record(r RequestRecord) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests = append(k.requests, r)
}

func (k *knobs) sleep(ctx context.Context, op string) {
	k.mu.Lock()
	d := k.latency[op] + k.latency[AllOps]
	k.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (k *knobs) next(op string) Fault {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range []string{op, AllOps} {
		if q := k.scripts[key]; len(q) > 0 {
			k.scripts[key] = q[1:]
			return q[0]
		}
	}
	for _, key := range []string{op, AllOps} {
		if pf, ok := k.prob[key]; ok && k.rnd.Float64() < pf.p {
			return pf.f
		}
	}
	return Fault{}
}

// inject applies the next fault for op, if any, and reports whether it answered.
func (k *knobs) inject(ctx context.Context, op string, w http.ResponseWriter, hangFor time.Duration) bool {
	f := k.next(op)
	if f.none() {
		return false
	}
	if f.Timeout {
		t := time.NewTimer(hangFor)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		w.WriteHeader(http.StatusGatewayTimeout)
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	writeJSON(w, f.Status, obj{"error": http.StatusText(f.Status)})
	return true
}
