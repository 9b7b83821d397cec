package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/maas-io/maas-webhook/cmd/webhook/app"
	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/mutate"
	"github.com/maas-io/maas-webhook/test/testenv"
)

// noopPath serves a handler that allows everything, on the same server stack.
const noopPath = "/noop"

// created numbers the InferenceServices BenchmarkAPIServerCreate creates, across runs.
var created atomic.Int64

// concurrency is the number of requests the load generators keep in flight.
const concurrency = 8

// namespaceReader stands in for the manager's namespace cache: it knows every namespace,
// unlabelled. (The cache's Get is a map lookup and a copy, like this one.)
type namespaceReader struct{ client.Reader }

func (namespaceReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return errors.New("only PartialObjectMetadata")
	}
	m.Name = key.Name
	m.Labels = map[string]string{"kubernetes.io/metadata.name": key.Name}
	return nil
}

// benchServer starts controller-runtime's webhook server, as serve configures it, with
// the real handler on mutate.Path and a no-op one on noopPath. It returns the port and
// the CA that signs its certificate.
func benchServer(b *testing.B) (int, *trust) {
	b.Helper()
	ctrllog.SetLogger(logr.Discard())
	cfg, err := config.Load(configFile)
	if err != nil {
		b.Fatal(err)
	}
	ca := newCA(b)
	dir := b.TempDir()
	writePair(b, dir, ca)
	port := freePort(b)
	srv := webhook.NewServer(webhook.Options{
		Host: "127.0.0.1", Port: port, CertDir: dir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12; c.NextProtos = []string{"http/1.1"} }},
	})
	h := &mutate.Handler{Namespaces: namespaceReader{}, Defaults: cfg.AnnotationDefaults(), ControllerUser: controllerUser}
	srv.Register(mutate.Path, mutate.NewWebhook(h, app.DefaultMaxRequestBytes))
	srv.Register(noopPath, mutate.NewWebhook(admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
		return admission.Allowed("")
	}), app.DefaultMaxRequestBytes))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	eventually(b, "the webhook server", func(context.Context) (bool, error) { return srv.StartedChecker()(nil) == nil, nil })
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return port, &trust{pool: pool, pem: ca.CertPEM}
}

// trust is what a client of benchServer needs to trust it.
type trust struct {
	pool *x509.CertPool
	pem  []byte
}

// stats are the figures of one load run.
type stats struct {
	requests int
	elapsed  time.Duration
	latency  []time.Duration
}

func (s *stats) add(o stats) {
	s.requests += o.requests
	s.elapsed += o.elapsed
	s.latency = append(s.latency, o.latency...)
}

func (s stats) rps() float64 { return float64(s.requests) / s.elapsed.Seconds() }

// quantile returns the q-quantile of the latencies, in microseconds.
func (s stats) quantile(q float64) float64 {
	l := slices.Clone(s.latency)
	slices.Sort(l)
	return float64(l[int(q*float64(len(l)-1))].Microseconds())
}

// run makes n calls of do, concurrency at a time, and times them.
func run(b *testing.B, n int, do func() error) stats {
	b.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	lat := make([][]time.Duration, concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			for {
				if int(next.Add(1)) > n {
					return
				}
				t := time.Now()
				if err := do(); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	s := stats{requests: n, elapsed: time.Since(start)}
	for _, l := range lat {
		s.latency = append(s.latency, l...)
	}
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return s
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// report reports the figures of the webhook and the no-op baseline and their ratio.
func report(b *testing.B, hook, noop stats) {
	b.ReportMetric(hook.rps(), "webhook-req/s")
	b.ReportMetric(noop.rps(), "noop-req/s")
	b.ReportMetric(hook.rps()/noop.rps(), "ratio")
	b.ReportMetric(hook.quantile(0.5), "webhook-p50-µs")
	b.ReportMetric(hook.quantile(0.99), "webhook-p99-µs")
	b.ReportMetric(noop.quantile(0.5), "noop-p50-µs")
	b.ReportMetric(noop.quantile(0.99), "noop-p99-µs")
}

// rounds alternates the webhook and the baseline in four rounds of n/4 calls each, so
// that a slow phase of a shared machine hits both alike.
func rounds(b *testing.B, hook, noop func() error) {
	var h, o stats
	per := max(b.N/4, 1)
	b.ResetTimer()
	for range 4 {
		o.add(run(b, per, noop))
		h.add(run(b, per, hook))
	}
	b.StopTimer()
	report(b, h, o)
}

// BenchmarkWebhookServer sends AdmissionReviews for an annotated InferenceService over
// TLS with keep-alive, concurrency at a time, to the real handler and to a no-op handler
// on the same server: requests per second, p50/p99 latency and the throughput ratio.
func BenchmarkWebhookServer(b *testing.B) {
	port, tr := benchServer(b)
	obj, err := json.Marshal(isvc("models", "granite", map[string]string{annotations.Expose: "true", "openshift.io/display-name": "Granite"}, map[string]string{"app": "granite"}).Object)
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"},
			Namespace: "models", Name: "granite", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: obj},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: tr.pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: concurrency,
	}}
	b.Cleanup(hc.CloseIdleConnections)
	post := func(path string, wantPatch bool) func() error {
		url := "https://127.0.0.1:" + strconv.Itoa(port) + path
		return func() error {
			resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			out, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"allowed":true`)) || bytes.Contains(out, []byte(`"patch"`)) != wantPatch {
				return fmt.Errorf("%s: %d %s", path, resp.StatusCode, out)
			}
			return nil
		}
	}
	rounds(b, post(mutate.Path, true), post(noopPath, false))
}

// BenchmarkAPIServerCreate creates InferenceServices through a real API server, with
// concurrency creates in flight, first with the webhook registered and then with a no-op
// webhook registered in its place (same server, same selectors and matchConditions):
// creates per second of each and the ratio.
func BenchmarkAPIServerCreate(b *testing.B) {
	env := testenv.Start(b, nil)
	port, tr := benchServer(b)
	c := env.Client
	createNamespace(b, c, "bench", nil)
	ann := map[string]string{annotations.Expose: "true"}
	// Registering is slow to propagate, so each path is installed once per round.
	install := func(path string) {
		installWebhook(b, c, port, path, tr.pem)
		eventually(b, "the API server to call "+path, func(ctx context.Context) (bool, error) {
			before := callsOn(b, path)
			if err := c.Create(ctx, isvc("bench", "probe", ann, nil), client.DryRunAll); err != nil {
				return false, err
			}
			return callsOn(b, path) > before, nil
		})
	}
	create := func(prefix string) func() error {
		return func() error {
			return c.Create(context.Background(), isvc("bench", fmt.Sprintf("%s-%d", prefix, created.Add(1)), ann, nil))
		}
	}
	var h, o stats
	per := max(b.N/2, 1)
	b.ResetTimer()
	for range 2 {
		b.StopTimer()
		install(noopPath)
		b.StartTimer()
		o.add(run(b, per, create("noop")))
		b.StopTimer()
		install(mutate.Path)
		b.StartTimer()
		h.add(run(b, per, create("hook")))
	}
	b.StopTimer()
	report(b, h, o)
}
