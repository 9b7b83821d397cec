package sync

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// status is what the controller reads back from its own annotations.
type status struct {
	State
	// Phase is status.maas.io/state.
	Phase string
	// Message is status.maas.io/message.
	Message string
	// AppliedHash is the hash of the last desired state applied in full.
	AppliedHash string
	// AppliedSections are its section hashes, encoded.
	AppliedSections string
	// SyncedAt is the time of the last successful sync; zero when none.
	SyncedAt time.Time
	// ErrorHash is the hash of a desired state 3scale refused for good.
	ErrorHash string
}

// statusKeys are every annotation the controller writes.
var statusKeys = []string{
	annotations.StatusProductID, annotations.StatusBackendID, annotations.StatusActiveDocID,
	annotations.StatusEndpoint, annotations.StatusStagingEndpoint, annotations.StatusState,
	annotations.StatusMessage, annotations.StatusAppliedHash, annotations.StatusAppliedSections, annotations.StatusSyncedAt,
	annotations.StatusErrorHash,
}

func readStatus(u *unstructured.Unstructured) status {
	a := u.GetAnnotations()
	id := func(k string) int64 {
		n, _ := strconv.ParseInt(a[k], 10, 64)
		return n
	}
	st := status{
		State: State{
			IDs:      IDs{Product: id(annotations.StatusProductID), Backend: id(annotations.StatusBackendID), ActiveDoc: id(annotations.StatusActiveDocID)},
			Endpoint: a[annotations.StatusEndpoint], StagingEndpoint: a[annotations.StatusStagingEndpoint],
		},
		Phase: a[annotations.StatusState], Message: a[annotations.StatusMessage],
		AppliedHash: a[annotations.StatusAppliedHash], AppliedSections: a[annotations.StatusAppliedSections],
		ErrorHash: a[annotations.StatusErrorHash],
	}
	st.SyncedAt, _ = time.Parse(time.RFC3339, a[annotations.StatusSyncedAt])
	return st
}

// annotations renders st as the status annotations; empty values are left out.
func (st status) annotations() map[string]string {
	out := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	putID := func(k string, id int64) {
		if id != 0 {
			out[k] = strconv.FormatInt(id, 10)
		}
	}
	putID(annotations.StatusProductID, st.Product)
	putID(annotations.StatusBackendID, st.Backend)
	putID(annotations.StatusActiveDocID, st.ActiveDoc)
	put(annotations.StatusEndpoint, st.Endpoint)
	put(annotations.StatusStagingEndpoint, st.StagingEndpoint)
	put(annotations.StatusState, st.Phase)
	put(annotations.StatusMessage, st.Message)
	put(annotations.StatusAppliedHash, st.AppliedHash)
	put(annotations.StatusAppliedSections, st.AppliedSections)
	put(annotations.StatusErrorHash, st.ErrorHash)
	if !st.SyncedAt.IsZero() {
		out[annotations.StatusSyncedAt] = st.SyncedAt.UTC().Format(time.RFC3339)
	}
	return out
}

// report writes the state, the message and what st carries as status annotations and
// the state label, with one patch and only when something differs.
func (r *Reconciler) report(ctx context.Context, u *unstructured.Unstructured, st status, phase, msg string) error {
	st.Phase, st.Message = phase, msg
	want := st.annotations()
	return r.patch(ctx, u, func(o *unstructured.Unstructured) {
		a := o.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		for _, k := range statusKeys {
			delete(a, k)
		}
		maps.Copy(a, want)
		o.SetAnnotations(a)
		l := o.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[annotations.State] = phase
		o.SetLabels(l)
	})
}

// patch applies mutate to a copy of u and, when the metadata differs, sends the
// difference as a merge patch; u is updated in place.
func (r *Reconciler) patch(ctx context.Context, u *unstructured.Unstructured, mutate func(*unstructured.Unstructured)) error {
	next := u.DeepCopy()
	mutate(next)
	if maps.Equal(u.GetAnnotations(), next.GetAnnotations()) && maps.Equal(u.GetLabels(), next.GetLabels()) &&
		slices.Equal(u.GetFinalizers(), next.GetFinalizers()) {
		return nil
	}
	var opts []client.MergeFromOption
	if !slices.Equal(u.GetFinalizers(), next.GetFinalizers()) {
		// A merge patch replaces the whole finalizer list: guard it against a
		// concurrent change. Annotations and labels merge key by key and the status
		// ones are written only here, so they need no guard (and no conflict retry).
		opts = append(opts, client.MergeFromWithOptimisticLock{})
	}
	if err := r.client.Patch(ctx, next, client.MergeFromWithOptions(u, opts...)); err != nil {
		return err
	}
	*u = *next
	return nil
}
