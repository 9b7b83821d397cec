package mutate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// Path is where the InferenceService webhook is served; manifests/base/mutatingwebhook.yaml
// points the API server at it.
const Path = "/mutate-inferenceservice"

// SkipOperation is the reason a request other than CREATE or UPDATE is let through.
const SkipOperation = "only CREATE and UPDATE are mutated"

// Handler is the admission handler of the InferenceService webhook: guards first, each
// logged at V(1) with its reason, then the ownership check of the controller's outputs,
// then Mutate. It makes no network calls: namespace labels come from a cache.
type Handler struct {
	// Namespaces reads Namespaces, as metav1.PartialObjectMetadata; the manager's cached
	// client, so the handler only needs a metadata informer.
	Namespaces client.Reader
	// Defaults are the configuration's annotation defaults.
	Defaults annotations.Defaults
	// ControllerUser is the username ("system:serviceaccount:NS:NAME") of the sync
	// controller, the only user that may change status.maas.io/* annotations and the
	// maas.io/state label.
	ControllerUser string
}

var _ admission.Handler = &Handler{}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	log := logr.FromContextOrDiscard(ctx)
	if req.Kind.Group != InferenceServiceGroupKind.Group || req.Kind.Kind != InferenceServiceGroupKind.Kind {
		return skip(log, SkipNotInferenceService)
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return skip(log, SkipOperation)
	}
	obj, err := decodeMeta(req.Object.Raw)
	if err != nil {
		log.V(1).Info("Refusing an undecodable object", "error", err.Error())
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the object: %w", err))
	}
	var old *partialObject
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if old, err = decodeMeta(req.OldObject.Raw); err != nil {
			log.V(1).Info("Refusing an undecodable old object", "error", err.Error())
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the old object: %w", err))
		}
	}
	if !hasExpose(obj) && !hasExpose(old) {
		return skip(log, SkipNotAnnotated)
	}
	if obj.Metadata.Labels[annotations.OptOut] == "true" {
		return skip(log, SkipOptedOut)
	}
	if obj.Metadata.Namespace == "" {
		obj.Metadata.Namespace = req.Namespace
	}
	nsLabels, err := h.namespaceLabels(ctx, obj.Metadata.Namespace)
	switch {
	case apierrors.IsNotFound(err):
		// Why go on: a namespace created a moment ago may not be in the cache yet, and
		// the API server has already applied the namespaceSelector.
		log.V(1).Info("Namespace not in the cache; relying on the namespaceSelector", "namespace", obj.Metadata.Namespace)
	case err != nil:
		// Why allowed: the webhook is a convenience (the controller computes the same
		// defaults), so a cache failure must not block writes, as failurePolicy Ignore says.
		log.Error(err, "Reading the namespace failed; admitting the object unmutated")
		return admission.Allowed("namespace unreadable")
	case nsLabels[annotations.OptOut] == "true":
		return skip(log, SkipOptedOut)
	}
	if keys := protectedChanges(old, obj); len(keys) > 0 && req.UserInfo.Username != h.ControllerUser {
		log.V(1).Info("Denying a change of controller-owned keys", "keys", keys)
		return admission.Denied(fmt.Sprintf("InferenceService %s/%s: %s may only be changed by the maas-webhook controller, not by %s",
			obj.Metadata.Namespace, obj.Metadata.Name, strings.Join(keys, ", "), req.UserInfo.Username))
	}
	res, err := Mutate(obj.unstructured(), nsLabels, h.Defaults)
	if err != nil {
		log.V(1).Info("Denying invalid annotations", "error", err.Error())
		return admission.Denied(Message(InferenceServiceGroupKind.Kind, obj.Metadata.Namespace, obj.Metadata.Name, err))
	}
	if res.Skipped != "" {
		return skip(log, res.Skipped)
	}
	resp, err := patched(res.Patch)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return resp
}

// patched is admission.Patched with the patch encoded here, through a plain struct:
// jsonpatch's MarshalJSON builds a map per operation, and was a third of the handler's
// CPU in BenchmarkWebhookServer.
func patched(ops []jsonpatch.JsonPatchOperation) (admission.Response, error) {
	type operation struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value,omitempty"`
	}
	out := make([]operation, len(ops))
	for i, o := range ops {
		out[i] = operation{Op: o.Operation, Path: o.Path, Value: o.Value}
	}
	patch, err := json.Marshal(out)
	if err != nil {
		return admission.Response{}, fmt.Errorf("encoding the patch: %w", err)
	}
	resp := admission.Allowed("")
	resp.Patch = patch
	resp.PatchType = ptr.To(admissionv1.PatchTypeJSONPatch)
	return resp, nil
}

// skip logs why a request is let through and allows it without a patch.
func skip(log logr.Logger, reason string) admission.Response {
	log.V(1).Info("Skipping", "reason", reason)
	return admission.Allowed(reason)
}

// namespaceLabels returns the labels of a namespace from the cache.
func (h *Handler) namespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := h.Namespaces.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return nil, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return ns.Labels, nil
}

// partialObject is the part of an object Mutate reads and patches. Decoding only this,
// typed, and not the spec or managedFields, keeps admission cheap.
type partialObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
		Labels      map[string]string `json:"labels"`
		Finalizers  []string          `json:"finalizers"`
		// DeletionTimestamp is set while the object waits for its finalizers.
		DeletionTimestamp *metav1.Time `json:"deletionTimestamp"`
	} `json:"metadata"`
}

// decodeMeta decodes the type and the metadata Mutate uses, case-sensitively as the API
// server does.
func decodeMeta(raw []byte) (*partialObject, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("no object in the request")
	}
	p := &partialObject{}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, p); err != nil {
		return nil, err
	}
	return p, nil
}

// unstructured is the object for Mutate. It has nothing but the decoded fields: only use
// it for those.
func (p *partialObject) unstructured() *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(p.APIVersion)
	obj.SetKind(p.Kind)
	obj.SetName(p.Metadata.Name)
	obj.SetNamespace(p.Metadata.Namespace)
	obj.SetAnnotations(p.Metadata.Annotations)
	obj.SetLabels(p.Metadata.Labels)
	obj.SetFinalizers(p.Metadata.Finalizers)
	obj.SetDeletionTimestamp(p.Metadata.DeletionTimestamp)
	return obj
}

// hasExpose reports whether obj carries the maas.io/expose annotation; false for nil.
func hasExpose(obj *partialObject) bool {
	if obj == nil {
		return false
	}
	_, ok := obj.Metadata.Annotations[annotations.Expose]
	return ok
}

// protectedChanges lists, sorted, the status.maas.io/* annotations and the maas.io/state
// label that differ between old (nil on CREATE) and obj: added, changed or removed.
func protectedChanges(old, obj *partialObject) []string {
	var oldAnn, oldLabels map[string]string
	if old != nil {
		oldAnn, oldLabels = old.Metadata.Annotations, old.Metadata.Labels
	}
	newAnn := obj.Metadata.Annotations
	var keys []string
	for k := range joinKeys(oldAnn, newAnn) {
		if strings.HasPrefix(k, annotations.StatusPrefix) && !sameEntry(oldAnn, newAnn, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if !sameEntry(oldLabels, obj.Metadata.Labels, annotations.State) {
		keys = append(keys, "label "+annotations.State)
	}
	return keys
}

// joinKeys returns the set of keys of a and b.
func joinKeys(a, b map[string]string) map[string]struct{} {
	out := make(map[string]struct{}, len(a)+len(b))
	for _, m := range []map[string]string{a, b} {
		for k := range maps.Keys(m) {
			out[k] = struct{}{}
		}
	}
	return out
}

// sameEntry reports whether a and b agree on key: both without it, or both with the same value.
func sameEntry(a, b map[string]string, key string) bool {
	va, oka := a[key]
	vb, okb := b[key]
	return oka == okb && va == vb
}

// MaxRequestTime bounds how long one request may take to arrive: the longest timeout
// the API server allows a webhook (timeoutSeconds is at most 30), so a stalled client
// cannot hold a handler goroutine for longer.
const MaxRequestTime = 30 * time.Second

// NewWebhook returns the HTTP handler that serves h: request bodies above maxBytes are
// refused with 413 before they are read (an empty one with 400), the body must arrive within MaxRequestTime, and
// controller-runtime's admission.Webhook decodes the AdmissionReview (a malformed one
// gets an error response) and recovers panics.
func NewWebhook(h admission.Handler, maxBytes int64) http.Handler {
	wh := &admission.Webhook{Handler: h}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.ContentLength > maxBytes:
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes is over the limit of %d", r.ContentLength, maxBytes))
			return
		case r.ContentLength == 0 || r.Body == nil:
			writeError(w, http.StatusBadRequest, errors.New("request body is empty"))
			return
		}
		// Best effort: the deadline is not supported on every connection type (tests' recorders).
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(MaxRequestTime))
		// An unknown Content-Length stops at the limit; the read error becomes
		// admission.Webhook's 400 response.
		r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
		wh.ServeHTTP(w, r)
	})
}

// writeError writes an AdmissionReview that carries only an error, with HTTP status code.
func writeError(w http.ResponseWriter, code int, err error) {
	resp := admission.Errored(int32(code), err)
	body, mErr := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: &resp.AdmissionResponse,
	})
	if mErr != nil {
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
