// Package sync is the sync controller: it watches InferenceServices, plans the desired
// 3scale state of each exposed model (pkg/sync/plan, pure), applies the difference
// (Applier) and reports the outcome back as status.maas.io annotations, the
// maas.io/state label and Events.
package sync

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/sync/plan"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// InferenceServiceGVK is the kind the controller watches.
var InferenceServiceGVK = schema.GroupVersionKind{Group: "serving.kserve.io", Version: "v1beta1", Kind: "InferenceService"}

// Event reasons.
const (
	// ReasonSynced: 3scale was changed to match the model (Normal).
	ReasonSynced = "Synced"
	// ReasonSyncFailed: an apply failed; the note says why (Warning).
	ReasonSyncFailed = "SyncFailed"
	// ReasonDriftRepaired: the drift check undid hand-made changes (Normal).
	ReasonDriftRepaired = "DriftRepaired"
	// ReasonInvalid: the annotations or the OpenAPI ConfigMap are unusable (Warning).
	ReasonInvalid = "InvalidAnnotations"
	// ReasonWithdrawn: the model was withdrawn from 3scale or orphaned (Normal).
	ReasonWithdrawn = "Withdrawn"
	// ReasonDeprovisionFail: deprovisioning failed and is retried (Warning).
	ReasonDeprovisionFail = "DeprovisionFailed"
	// ReasonForceRemoved: the finalizer was dropped without calling 3scale (Warning).
	ReasonForceRemoved = "ForceRemoved"
)

// openAPIIndex indexes InferenceServices by the ConfigMap their maas.io/openapi names.
const openAPIIndex = "maas.io/openapi-configmap"

// driftJitter is the largest fraction added to the resync period, so that models synced
// together do not all check for drift at once.
const driftJitter = 0.2

// Options configure the controller.
type Options struct {
	// Config is the validated controller configuration.
	Config config.Config
	// Client is the 3scale client.
	Client *threescale.Client
	// Workers is the number of InferenceServices reconciled at once. Default 4.
	Workers int
	// RecorderName is the event source name. Default "maas-webhook-sync".
	RecorderName string
	// Clock reads the time for drift checks and synced-at. Default the real clock.
	Clock clock.PassiveClock
	// RateLimiter overrides the work queue's retry backoff (tests use a faster one).
	RateLimiter workqueue.TypedRateLimiter[reconcile.Request]
}

// Reconciler is the sync controller's reconciler.
type Reconciler struct {
	client   client.Client
	reader   client.Reader
	recorder events.EventRecorder
	cfg      config.Config
	applier  *Applier
	clock    clock.PassiveClock
}

func metaOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

// SetupWithManager registers the controller on mgr. It watches the metadata of every
// InferenceService (cheap), reads in full only the managed ones, and watches the
// metadata of ConfigMaps named by maas.io/openapi and of namespaces (opt-out labels).
func SetupWithManager(mgr manager.Manager, opts Options) error {
	if opts.Client == nil {
		return errors.New("sync controller: a 3scale client is required")
	}
	if opts.Workers < 1 {
		opts.Workers = 4
	}
	if opts.RecorderName == "" {
		opts.RecorderName = "maas-webhook-sync"
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	r := &Reconciler{
		client:   mgr.GetClient(),
		reader:   mgr.GetAPIReader(),
		recorder: mgr.GetEventRecorder(opts.RecorderName),
		cfg:      opts.Config,
		applier:  &Applier{Client: opts.Client, SubscribeConcurrency: opts.Config.ThreeScale.Concurrency},
		clock:    opts.Clock,
	}
	isvc := metaOf(InferenceServiceGVK)
	err := mgr.GetFieldIndexer().IndexField(context.Background(), isvc, openAPIIndex, func(o client.Object) []string {
		if v := o.GetAnnotations()[annotations.OpenAPI]; v != "" && v != annotations.OpenAPINone {
			return []string{v}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync controller: index %s: %w", openAPIIndex, err)
	}
	copts := controller.TypedOptions[reconcile.Request]{MaxConcurrentReconciles: opts.Workers, RateLimiter: opts.RateLimiter}
	return ctrl.NewControllerManagedBy(mgr).
		Named("inferenceservice-sync").
		For(isvc, builder.WithPredicates(predicate.NewPredicateFuncs(relevant))).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.forConfigMap)).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.forNamespace)).
		WithOptions(copts).
		Complete(r)
}

// relevant reports whether an InferenceService is or was managed: annotated, carrying
// the finalizer, or carrying a state written by the controller. Others are never read
// in full.
func relevant(o client.Object) bool {
	a := o.GetAnnotations()
	_, exposed := a[annotations.Expose]
	_, reported := a[annotations.StatusState]
	return exposed || reported || hasFinalizer(o)
}

func hasFinalizer(o client.Object) bool {
	for _, f := range o.GetFinalizers() {
		if f == annotations.Finalizer {
			return true
		}
	}
	return false
}

func (r *Reconciler) forConfigMap(ctx context.Context, cm client.Object) []reconcile.Request {
	l := &metav1.PartialObjectMetadataList{}
	l.SetGroupVersionKind(InferenceServiceGVK.GroupVersion().WithKind("InferenceServiceList"))
	if err := r.client.List(ctx, l, client.InNamespace(cm.GetNamespace()), client.MatchingFields{openAPIIndex: cm.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing InferenceServices for a ConfigMap failed", "configMap", cm.GetName())
		return nil
	}
	return requests(l, func(client.Object) bool { return true })
}

func (r *Reconciler) forNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	l := &metav1.PartialObjectMetadataList{}
	l.SetGroupVersionKind(InferenceServiceGVK.GroupVersion().WithKind("InferenceServiceList"))
	if err := r.client.List(ctx, l, client.InNamespace(ns.GetName())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing InferenceServices for a namespace failed", "namespace", ns.GetName())
		return nil
	}
	return requests(l, relevant)
}

func requests(l *metav1.PartialObjectMetadataList, keep func(client.Object) bool) []reconcile.Request {
	var out []reconcile.Request
	for i := range l.Items {
		if keep(&l.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: l.Items[i].Namespace, Name: l.Items[i].Name}})
		}
	}
	return out
}

// Reconcile brings one InferenceService's 3scale objects to the desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	cached := metaOf(InferenceServiceGVK)
	if err := r.client.Get(ctx, req.NamespacedName, cached); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !relevant(cached) {
		return reconcile.Result{}, nil
	}
	// Only managed objects are read in full, straight from the API server, so that
	// the cache holds metadata only.
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(InferenceServiceGVK)
	if err := r.reader.Get(ctx, req.NamespacedName, u); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	view := plan.ViewFromObject(u)
	ns := metaOf(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := r.client.Get(ctx, types.NamespacedName{Name: req.Namespace}, ns); err != nil {
		return reconcile.Result{}, fmt.Errorf("read namespace %s: %w", req.Namespace, err)
	}
	view.NamespaceLabels = ns.GetLabels()
	parsed, parseErr := annotations.Parse(view.Input())
	st := readStatus(u)

	if u.GetDeletionTimestamp() != nil || (parseErr == nil && !parsed.Published()) {
		return r.withdraw(ctx, u, parsed, st)
	}
	spec, err := plan.Spec(view, r.cfg)
	if err != nil {
		// Bad user input: report it and wait for the object to change; a retry
		// would fail the same way.
		return reconcile.Result{}, r.reportInvalid(ctx, u, st, err)
	}
	if !hasFinalizer(u) {
		// The webhook adds the finalizer; add it here too in case it was bypassed,
		// before anything exists in 3scale.
		if err := r.patch(ctx, u, func(o *unstructured.Unstructured) { o.SetFinalizers(append(o.GetFinalizers(), annotations.Finalizer)) }); err != nil {
			return reconcile.Result{}, err
		}
	}
	if reason := view.WaitingReason(spec); reason != "" {
		// The status update that makes the model Ready triggers the next reconcile.
		return reconcile.Result{}, r.report(ctx, u, st, annotations.StateWaitingForModel, reason)
	}
	if spec.OpenAPI != "" && spec.OpenAPI != annotations.OpenAPINone {
		body, err := r.openAPISpec(ctx, u.GetNamespace(), spec.OpenAPI)
		if err != nil {
			if apierrors.IsNotFound(err) || errors.Is(err, plan.ErrInvalidOpenAPI) {
				// The ConfigMap watch triggers the next reconcile when it appears.
				return reconcile.Result{}, r.reportInvalid(ctx, u, st, err)
			}
			return reconcile.Result{}, err
		}
		view.OpenAPISpec = body
	}
	desired, err := plan.Plan(view, r.cfg)
	if err != nil {
		return reconcile.Result{}, r.reportInvalid(ctx, u, st, err)
	}
	sections := desired.Sections()
	hash := sections.Hash()
	now := r.clock.Now()
	next := r.driftDue(u, st.SyncedAt)
	if hash == st.AppliedHash && now.Before(next) {
		// Steady state: nothing changed and no drift check is due, so no 3scale call.
		if err := r.report(ctx, u, st, annotations.StateSynced, ""); err != nil {
			return reconcile.Result{}, err
		}
		return reconcile.Result{RequeueAfter: next.Sub(now)}, nil
	}
	if st.Phase == annotations.StateError && st.ErrorHash == hash {
		// Refused for good before (ownership, 422): wait for the object to change.
		return reconcile.Result{}, nil
	}
	scope := Scope{
		Changed:   sections.Changed(plan.ParseSections(st.AppliedSections)),
		Drift:     hash == st.AppliedHash,
		Subscribe: st.AppliedHash == "",
	}
	log.V(1).Info("Applying desired state", "changed", scope.Changed, "drift", scope.Drift)
	res, applyErr := r.applier.Apply(ctx, desired, st.State, scope)
	st.State = res.State
	if applyErr != nil {
		return r.applyFailed(ctx, u, st, hash, applyErr)
	}
	// The event goes out before the status write: if that write fails, the retry
	// finds nothing left to change and would not tell.
	switch {
	case len(res.Changes) > 0 && scope.Drift:
		r.event(u, corev1.EventTypeNormal, ReasonDriftRepaired, "Repaired", "Repaired hand-made changes in 3scale: %s", joinChanges(res.Changes))
	case len(res.Changes) > 0:
		r.event(u, corev1.EventTypeNormal, ReasonSynced, "Sync", "Synced to 3scale product %s: %s", desired.SystemName, joinChanges(res.Changes))
	}
	st.AppliedHash, st.AppliedSections, st.SyncedAt, st.ErrorHash = hash, sections.String(), now, ""
	if err := r.report(ctx, u, st, annotations.StateSynced, ""); err != nil {
		return reconcile.Result{}, err
	}
	// The drift check is level-based: requeue for the next one.
	return reconcile.Result{RequeueAfter: r.driftDue(u, now).Sub(now)}, nil
}

// applyFailed reports a failed apply. Ownership conflicts and 3scale validation errors
// need a change by a person, so they are not retried; the rest is transient and backs
// off.
func (r *Reconciler) applyFailed(ctx context.Context, u *unstructured.Unstructured, st status, hash string, err error) (reconcile.Result, error) {
	var msg string
	permanent := true
	switch {
	case errors.Is(err, ErrNotManaged):
		msg = err.Error()
	case threescale.IsValidation(err) && !errors.Is(err, threescale.ErrConflict):
		msg = "3scale rejected the configuration: " + err.Error()
	default:
		permanent = false
		msg = "3scale call failed, retrying: " + err.Error()
	}
	state := annotations.StateError
	if !permanent && st.Phase != annotations.StateError {
		// Keep Synced (the last applied state still serves) or Pending.
		state = st.Phase
		if state != annotations.StateSynced {
			state = annotations.StatePending
		}
	}
	if st.Message != msg {
		r.event(u, corev1.EventTypeWarning, ReasonSyncFailed, "Sync", "%s", msg)
	}
	if permanent {
		st.ErrorHash = hash
	}
	if rerr := r.report(ctx, u, st, state, msg); rerr != nil {
		return reconcile.Result{}, rerr
	}
	if permanent {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, err
}

// reportInvalid reports bad user input with a Warning event, once per message.
func (r *Reconciler) reportInvalid(ctx context.Context, u *unstructured.Unstructured, st status, err error) error {
	msg := err.Error()
	if st.Message != msg {
		r.event(u, corev1.EventTypeWarning, ReasonInvalid, "Validate", "%s", msg)
	}
	return r.report(ctx, u, st, annotations.StateError, msg)
}

// withdraw deprovisions a withdrawn or deleted model and removes the finalizer.
func (r *Reconciler) withdraw(ctx context.Context, u *unstructured.Unstructured, spec annotations.Spec, st status) (reconcile.Result, error) {
	if !hasFinalizer(u) && st.IDs == (IDs{}) {
		return reconcile.Result{}, r.clearStatus(ctx, u)
	}
	switch {
	case spec.ForceRemove:
		r.event(u, corev1.EventTypeWarning, ReasonForceRemoved, "Withdraw", "Finalizer removed without calling 3scale (%s); 3scale objects may remain", annotations.ForceRemove)
	case spec.DeletionPolicy == annotations.DeletionOrphan:
		r.event(u, corev1.EventTypeNormal, ReasonWithdrawn, "Withdraw", "Withdrawn; 3scale objects kept (%s: orphan)", annotations.DeletionPolicy)
	default:
		systemName := spec.SystemName
		if systemName == "" || !annotations.ValidSystemName(systemName) {
			systemName = annotations.DefaultSystemName(u.GetNamespace(), u.GetName())
		}
		if err := r.applier.Deprovision(ctx, systemName, string(u.GetUID()), st.IDs); err != nil {
			msg := "deprovisioning from 3scale failed, retrying: " + err.Error()
			if st.Message != msg {
				r.event(u, corev1.EventTypeWarning, ReasonDeprovisionFail, "Withdraw", "%s", msg)
			}
			if rerr := r.report(ctx, u, st, annotations.StateDeprovisioning, msg); rerr != nil {
				return reconcile.Result{}, rerr
			}
			// Transient: keep the finalizer and back off.
			return reconcile.Result{}, err
		}
		r.event(u, corev1.EventTypeNormal, ReasonWithdrawn, "Withdraw", "Removed product, backend and ActiveDocs %s from 3scale", systemName)
	}
	return reconcile.Result{}, r.clearStatus(ctx, u)
}

// clearStatus removes the finalizer, the status annotations and the state label.
func (r *Reconciler) clearStatus(ctx context.Context, u *unstructured.Unstructured) error {
	return r.patch(ctx, u, func(o *unstructured.Unstructured) {
		var fins []string
		for _, f := range o.GetFinalizers() {
			if f != annotations.Finalizer {
				fins = append(fins, f)
			}
		}
		o.SetFinalizers(fins)
		a := o.GetAnnotations()
		for _, k := range statusKeys {
			delete(a, k)
		}
		o.SetAnnotations(a)
		l := o.GetLabels()
		delete(l, annotations.State)
		o.SetLabels(l)
	})
}

func (r *Reconciler) openAPISpec(ctx context.Context, namespace, name string) (string, error) {
	cm := &corev1.ConfigMap{}
	if err := r.reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("ConfigMap %s/%s named by %s: %w", namespace, name, annotations.OpenAPI, err)
		}
		return "", fmt.Errorf("read ConfigMap %s/%s: %w", namespace, name, err)
	}
	for _, k := range plan.OpenAPIConfigMapKeys {
		if v, ok := cm.Data[k]; ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("ConfigMap %s/%s has none of the keys %v: %w", namespace, name, plan.OpenAPIConfigMapKeys, plan.ErrInvalidOpenAPI)
}

// driftDue is when the next drift check is due: the resync period after the last sync,
// stretched by up to driftJitter by a hash of the UID, so it is stable across
// reconciles but spread across objects.
func (r *Reconciler) driftDue(u *unstructured.Unstructured, syncedAt time.Time) time.Time {
	h := fnv.New32a()
	_, _ = h.Write([]byte(u.GetUID()))
	frac := float64(h.Sum32()%1000) / 1000
	period := r.cfg.ResyncPeriod.Duration
	return syncedAt.Add(period + time.Duration(float64(period)*driftJitter*frac))
}

func (r *Reconciler) event(u *unstructured.Unstructured, eventType, reason, action, note string, args ...any) {
	r.recorder.Eventf(u, nil, eventType, reason, action, note, args...)
}

// maxEventChanges bounds how many changes an event lists.
const maxEventChanges = 8

func joinChanges(changes []string) string {
	out := ""
	for i, c := range changes {
		if i == maxEventChanges {
			return out + "; and " + strconv.Itoa(len(changes)-i) + " more"
		}
		if i > 0 {
			out += "; "
		}
		out += c
	}
	return out
}
