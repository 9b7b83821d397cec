package mutate

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// FuzzWebhook sends arbitrary bodies to the webhook's HTTP handler: it must never panic
// and must always answer with an AdmissionReview that carries a response (serve checks
// both). `go test` runs the seeds; `go test -fuzz FuzzWebhook` explores.
func FuzzWebhook(f *testing.F) {
	obj := func(ann map[string]string, labels map[string]string) []byte { return object(f, "models", ann, labels) }
	for _, seed := range [][]byte{
		review(f, obj(map[string]string{annotations.Expose: "true"}, nil)),
		review(f, obj(map[string]string{annotations.Expose: "yes", annotations.SystemName: "a b"}, nil)),
		review(f, obj(map[string]string{annotations.Expose: "true", annotations.StatusState: "Synced"}, map[string]string{annotations.State: "Synced"})),
		review(f, []byte(`{"apiVersion":"serving.kserve.io/v1beta1","kind":"InferenceService","metadata":{"annotations":{"maas.io/expose":7}}}`)),
		review(f, []byte(`{"metadata":[]}`)),
		review(f, []byte(`null`)),
		[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"group":"serving.kserve.io","kind":"InferenceService"},"operation":"UPDATE","object":{},"oldObject":{"metadata":{"annotations":{"maas.io/expose":"true"}}}}}`),
		[]byte(`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}`),
		[]byte(`{"kind":"Pod"}`),
		[]byte(`[`),
		[]byte("\x00\xff"),
		{},
	} {
		f.Add(seed)
	}
	h := NewWebhook(testHandler(f), 1<<16)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, _ := serve(t, h, bytes.NewReader(body), int64(len(body)))
		switch status {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("status %d", status)
		}
	})
}
