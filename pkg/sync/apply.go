package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/go-logr/logr"

	"github.com/maas-io/maas-webhook/pkg/sync/plan"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// IDs are the 3scale ids of one model's objects, as stored in its status.maas.io
// annotations; zero means unknown.
type IDs struct {
	// Product is the product (service) id.
	Product int64
	// Backend is the backend API id.
	Backend int64
	// ActiveDoc is the ActiveDocs id.
	ActiveDoc int64
}

// State is what the last apply left behind, as reported on the InferenceService.
type State struct {
	IDs
	// Endpoint is the production public URL.
	Endpoint string
	// StagingEndpoint is the staging public URL.
	StagingEndpoint string
}

// Scope says which sections of the desired state an apply reads and writes.
type Scope struct {
	// Changed are the sections whose hash differs from the applied one.
	Changed []string
	// Drift reads every section and repairs what differs.
	Drift bool
	// Subscribe subscribes the existing developer accounts to the product: set until
	// the first sync of the object completes.
	Subscribe bool
}

// Result is the outcome of an apply.
type Result struct {
	State
	// Changes describe the writes made, in order, such as "created product".
	Changes []string
}

// ErrNotManaged is matched by the error for a 3scale object that carries the model's
// system name but not the ownership marks.
var ErrNotManaged = errors.New("not managed by maas-webhook")

// NotManagedError is an object in the way that maas-webhook does not own.
type NotManagedError struct {
	// Kind is the kind of object: product, backend, ActiveDocs.
	Kind string
	// SystemName is its system name.
	SystemName string
}

// Error implements error.
func (e *NotManagedError) Error() string {
	return fmt.Sprintf("%s %s exists and is not managed by maas-webhook", e.Kind, e.SystemName)
}

// Is matches ErrNotManaged.
func (e *NotManagedError) Is(target error) bool { return target == ErrNotManaged }

// ErrSystemNameTaken is matched when a system name is taken by an object 3scale has
// deleted but not purged yet; it frees up by itself, so it is retried.
var ErrSystemNameTaken = errors.New("system name still taken by a deleted object")

// Applier closes the difference between a desired state and 3scale with the fewest
// calls it can: ids before lookups, reads only of the sections in scope, writes only of
// what differs, in dependency order.
type Applier struct {
	// Client is the 3scale client.
	Client *threescale.Client
	// SubscribeConcurrency bounds the parallel subscription calls. Default 4.
	SubscribeConcurrency int
}

// applyRun is the state of one Apply.
type applyRun struct {
	c     *threescale.Client
	d     plan.Desired
	scope Scope
	st    State
	conc  int
	// changed are the sections in scope by hash.
	changed map[string]bool
	// fresh is true when the product was created by this run, so its contents are
	// 3scale's defaults and need not be read.
	fresh bool
	// adopted is true when the product or backend was found by system name: nothing
	// about it is known, so every section is read.
	adopted bool
	// metrics holds the product's metrics and methods by system name once loaded.
	metrics map[string]threescale.ProductMetric
	hitsID  int64
	// pendingDeploy is set by gateway writes 3scale does not deploy by itself and
	// cleared by those it does (proxy and policy updates deploy everything current).
	pendingDeploy bool
	// gatewayWritten is set by any write that reaches the gateway.
	gatewayWritten bool
	// stale are metrics and methods to delete once production no longer uses them.
	stale   []threescale.ProductMetric
	changes []string
	// startEndpoint is the production endpoint known before the run.
	startEndpoint string
}

func (r *applyRun) dirty(section string) bool {
	return r.fresh || r.adopted || r.scope.Drift || r.changed[section]
}

func (r *applyRun) note(format string, args ...any) {
	r.changes = append(r.changes, fmt.Sprintf(format, args...))
}

// Apply makes 3scale hold d. st carries the ids and endpoints known from the last
// apply. On error the returned Result still carries every id learned, so the caller
// can record them and the next attempt finds its objects by id.
func (a *Applier) Apply(ctx context.Context, d plan.Desired, st State, scope Scope) (Result, error) {
	r := &applyRun{c: a.Client, d: d, scope: scope, st: st, conc: a.SubscribeConcurrency, changed: map[string]bool{}, startEndpoint: st.Endpoint}
	if r.conc < 1 {
		r.conc = 4
	}
	for _, s := range scope.Changed {
		r.changed[s] = true
	}
	err := r.run(ctx)
	if err != nil {
		logr.FromContextOrDiscard(ctx).V(1).Info("Apply stopped", "changes", r.changes, "error", err.Error())
	}
	return Result{State: r.st, Changes: r.changes}, err
}

func (r *applyRun) run(ctx context.Context) error {
	steps := []func(context.Context) error{
		r.ensureProduct, r.ensureBackend, r.ensureBackendUsage, r.ensureAPI,
		r.ensureProxy, r.ensurePolicies, r.deployAndPromote, r.deleteStale,
		r.ensurePlans, r.ensureActiveDoc, r.ensurePortal,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ensureBackend reads the backend by id (or creates it, adopting one of ours on a
// conflict) and updates what differs.
func (r *applyRun) ensureBackend(ctx context.Context) error {
	want := r.d.Backend
	var live *porta.BackendApiItem
	if r.st.Backend != 0 {
		if !r.dirty(plan.SectionBackend) {
			return nil
		}
		b, err := r.c.Backend(ctx, r.st.Backend)
		switch {
		case errors.Is(err, threescale.ErrNotFound):
			r.st.Backend = 0
		case err != nil:
			return err
		case !threescale.IsOwnedBy(b.Annotations, r.d.OwnerUID):
			return &NotManagedError{Kind: "backend", SystemName: r.d.SystemName}
		default:
			live = b
		}
	}
	if live == nil {
		params := threescale.WithOwnership(porta.Params{
			"name": want.Name, "system_name": r.d.SystemName, "description": want.Description,
			"private_endpoint": want.PrivateEndpoint,
		}, r.d.OwnerUID)
		b, err := r.c.CreateBackend(ctx, params)
		if err == nil {
			r.st.Backend = b.ID
			r.gatewayWritten, r.pendingDeploy = true, true
			r.note("created backend %s", r.d.SystemName)
			return nil
		}
		if !errors.Is(err, threescale.ErrConflict) {
			return err
		}
		// A conflict is an object with our system name: ours after a lost response or
		// a restart, or someone else's.
		b, err = r.c.FindBackend(ctx, r.d.SystemName)
		if errors.Is(err, threescale.ErrNotFound) {
			return fmt.Errorf("backend %s: %w", r.d.SystemName, ErrSystemNameTaken)
		}
		if err != nil {
			return err
		}
		if !threescale.IsOwnedBy(b.Annotations, r.d.OwnerUID) {
			return &NotManagedError{Kind: "backend", SystemName: r.d.SystemName}
		}
		r.st.Backend, r.adopted, live = b.ID, true, b
	}
	upd := porta.Params{}
	setIf(upd, "name", live.Name, want.Name)
	setIf(upd, "description", live.Description, want.Description)
	setIf(upd, "private_endpoint", live.PrivateEndpoint, want.PrivateEndpoint)
	if len(upd) == 0 {
		return nil
	}
	if _, err := r.c.UpdateBackend(ctx, live.ID, upd); err != nil {
		return err
	}
	if _, ok := upd["private_endpoint"]; ok {
		r.gatewayWritten, r.pendingDeploy = true, true
	}
	r.note("updated backend %s", keys(upd))
	return nil
}

// ensureProduct is ensureBackend for the product.
func (r *applyRun) ensureProduct(ctx context.Context) error {
	want := r.d.Product
	var live *porta.ProductItem
	if r.st.Product != 0 {
		if !r.dirty(plan.SectionProduct) {
			return nil
		}
		p, err := r.c.Product(ctx, r.st.Product)
		switch {
		case errors.Is(err, threescale.ErrNotFound):
			r.st.Product = 0
		case err != nil:
			return err
		case !threescale.IsOwnedBy(p.Annotations, r.d.OwnerUID):
			return &NotManagedError{Kind: "product", SystemName: r.d.SystemName}
		default:
			live = p
		}
	}
	if live == nil {
		params := threescale.WithOwnership(porta.Params{"system_name": r.d.SystemName, "description": want.Description}, r.d.OwnerUID)
		p, err := r.c.CreateProduct(ctx, want.Name, params)
		if err == nil {
			r.st.Product, r.fresh = p.ID, true
			// A new product has a new ActiveDoc binding and new endpoints.
			r.st.ActiveDoc, r.st.Endpoint, r.st.StagingEndpoint = 0, "", ""
			r.note("created product %s", r.d.SystemName)
			return nil
		}
		if !errors.Is(err, threescale.ErrConflict) {
			return err
		}
		p, err = r.c.FindProduct(ctx, r.d.SystemName)
		if errors.Is(err, threescale.ErrNotFound) {
			return fmt.Errorf("product %s: %w", r.d.SystemName, ErrSystemNameTaken)
		}
		if err != nil {
			return err
		}
		if !threescale.IsOwnedBy(p.Annotations, r.d.OwnerUID) {
			return &NotManagedError{Kind: "product", SystemName: r.d.SystemName}
		}
		r.st.Product, r.adopted, live = p.ID, true, p
	}
	upd := porta.Params{}
	setIf(upd, "name", live.Name, want.Name)
	setIf(upd, "description", live.Description, want.Description)
	if len(upd) == 0 {
		return nil
	}
	if _, err := r.c.UpdateProduct(ctx, live.ID, upd); err != nil {
		return err
	}
	r.note("updated product %s", keys(upd))
	return nil
}

// ensureBackendUsage makes the product use the backend at its path.
func (r *applyRun) ensureBackendUsage(ctx context.Context) error {
	if !r.dirty(plan.SectionBackend) {
		return nil
	}
	if !r.fresh {
		usages, err := r.c.ListBackendUsages(ctx, r.st.Product)
		if err != nil {
			return err
		}
		for _, u := range usages {
			if u.BackendAPIID == r.st.Backend && u.Path == r.d.Product.BackendPath {
				return nil
			}
		}
		for _, u := range usages {
			if u.BackendAPIID == r.st.Backend {
				if err := r.c.DeleteBackendUsage(ctx, r.st.Product, u.ID); err != nil && !errors.Is(err, threescale.ErrNotFound) {
					return err
				}
			}
		}
	}
	if _, err := r.c.CreateBackendUsage(ctx, r.st.Product, r.st.Backend, r.d.Product.BackendPath); err != nil {
		return err
	}
	r.gatewayWritten, r.pendingDeploy = true, true
	r.note("added backend %s to product at %s", r.d.SystemName, r.d.Product.BackendPath)
	return nil
}

// loadMetrics reads the product's metrics and methods once per run.
func (r *applyRun) loadMetrics(ctx context.Context) error {
	if r.metrics != nil {
		return nil
	}
	all, err := r.c.ListProductMetricsAndMethods(ctx, r.st.Product)
	if err != nil {
		return err
	}
	r.metrics = map[string]threescale.ProductMetric{}
	for _, m := range all {
		r.metrics[m.SystemName] = m
		if m.SystemName == "hits" {
			r.hitsID = m.ID
		}
	}
	if r.hitsID == 0 {
		return fmt.Errorf("product %d has no hits metric", r.st.Product)
	}
	return nil
}

// ensureAPI makes the metrics, methods and mapping rules exactly the desired ones.
// Unwanted metrics and methods are deleted only after promotion (deleteStale): 3scale
// refuses to delete a method the latest gateway configuration uses.
func (r *applyRun) ensureAPI(ctx context.Context) error {
	if !r.dirty(plan.SectionAPI) {
		return nil
	}
	if err := r.loadMetrics(ctx); err != nil {
		return err
	}
	wanted := map[string]bool{"hits": true}
	for _, m := range r.d.Metrics {
		wanted[m.SystemName] = true
		if err := r.ensureMetric(ctx, m.SystemName, m.FriendlyName, m.Unit, m.Description, false); err != nil {
			return err
		}
	}
	for _, m := range r.d.Methods {
		wanted[m.SystemName] = true
		if err := r.ensureMetric(ctx, m.SystemName, m.FriendlyName, "", "", true); err != nil {
			return err
		}
	}
	r.stale = nil
	for _, name := range sortedKeys(r.metrics) {
		if !wanted[name] {
			r.stale = append(r.stale, r.metrics[name])
		}
	}
	return r.ensureMappingRules(ctx)
}

// ensureMetric creates or updates one metric (method when isMethod).
func (r *applyRun) ensureMetric(ctx context.Context, name, friendly, unit, description string, isMethod bool) error {
	live, ok := r.metrics[name]
	if ok && (live.ParentID != 0) == isMethod {
		upd := porta.Params{}
		setIf(upd, "friendly_name", live.FriendlyName, friendly)
		if !isMethod {
			setIf(upd, "unit", live.Unit, unit)
			setIf(upd, "description", live.Description, description)
		}
		if len(upd) == 0 {
			return nil
		}
		var err error
		if isMethod {
			_, err = r.c.UpdateProductMethod(ctx, r.st.Product, r.hitsID, live.ID, upd)
		} else {
			_, err = r.c.UpdateProductMetric(ctx, r.st.Product, live.ID, upd)
		}
		if err != nil {
			return err
		}
		r.note("updated metric %s", name)
		return nil
	}
	params := porta.Params{"system_name": name, "friendly_name": friendly}
	var created threescale.ProductMetric
	if isMethod {
		m, err := r.c.CreateProductMethod(ctx, r.st.Product, r.hitsID, params)
		if err != nil {
			return err
		}
		created = threescale.ProductMetric{ID: m.ID, SystemName: name, FriendlyName: friendly, ParentID: r.hitsID}
	} else {
		params["unit"], params["description"] = unit, description
		m, err := r.c.CreateProductMetric(ctx, r.st.Product, params)
		if err != nil {
			return err
		}
		created = threescale.ProductMetric{ID: m.ID, SystemName: name, FriendlyName: friendly, Unit: unit, Description: description}
	}
	r.metrics[name] = created
	r.note("created %s %s", map[bool]string{true: "method", false: "metric"}[isMethod], name)
	return nil
}

type ruleKey struct {
	method, pattern string
	metric          int64
	delta           int
}

// ensureMappingRules keeps the rules that match, rewrites unwanted ones into missing
// ones (one call instead of a delete and a create), then deletes or creates the rest.
func (r *applyRun) ensureMappingRules(ctx context.Context) error {
	live, err := r.c.ListMappingRules(ctx, r.st.Product)
	if err != nil {
		return err
	}
	want := map[ruleKey]int{}
	var order []ruleKey
	for _, m := range r.d.MappingRules {
		k := ruleKey{m.HTTPMethod, m.Pattern, r.metrics[m.Metric].ID, m.Delta}
		if want[k] == 0 {
			order = append(order, k)
		}
		want[k]++
	}
	var unwanted []porta.MappingRuleItem
	for _, l := range live {
		k := ruleKey{l.HTTPMethod, l.Pattern, l.MetricID, l.Delta}
		if want[k] > 0 && !l.Last {
			want[k]--
			continue
		}
		unwanted = append(unwanted, l)
	}
	for _, k := range order {
		for ; want[k] > 0; want[k]-- {
			params := porta.Params{
				"http_method": k.method, "pattern": k.pattern,
				"metric_id": strconv.FormatInt(k.metric, 10), "delta": strconv.Itoa(k.delta), "last": "false",
			}
			if len(unwanted) > 0 {
				old := unwanted[0]
				unwanted = unwanted[1:]
				if _, err := r.c.UpdateMappingRule(ctx, r.st.Product, old.ID, params); err != nil {
					return err
				}
				r.note("rewrote mapping rule %s %s as %s %s", old.HTTPMethod, old.Pattern, k.method, k.pattern)
			} else {
				if _, err := r.c.CreateMappingRule(ctx, r.st.Product, params); err != nil {
					return err
				}
				r.note("created mapping rule %s %s", k.method, k.pattern)
			}
			r.gatewayWritten, r.pendingDeploy = true, true
		}
	}
	for _, old := range unwanted {
		if err := r.c.DeleteMappingRule(ctx, r.st.Product, old.ID); err != nil && !errors.Is(err, threescale.ErrNotFound) {
			return err
		}
		r.gatewayWritten, r.pendingDeploy = true, true
		r.note("deleted mapping rule %s %s", old.HTTPMethod, old.Pattern)
	}
	return nil
}

// ensureProxy sets the authentication settings; it also learns the endpoints.
func (r *applyRun) ensureProxy(ctx context.Context) error {
	if !r.dirty(plan.SectionProxy) && r.st.Endpoint != "" {
		return nil
	}
	want := porta.Params{"credentials_location": r.d.Proxy.CredentialsLocation, "auth_user_key": r.d.Proxy.AuthUserKey}
	upd := want
	if !r.fresh {
		p, err := r.c.Proxy(ctx, r.st.Product)
		if err != nil {
			return err
		}
		r.st.Endpoint, r.st.StagingEndpoint = p.Endpoint, p.SandboxEndpoint
		upd = porta.Params{}
		setIf(upd, "credentials_location", p.CredentialsLocation, want["credentials_location"])
		setIf(upd, "auth_user_key", p.AuthUserKey, want["auth_user_key"])
		if len(upd) == 0 {
			return nil
		}
	}
	p, err := r.c.UpdateProxy(ctx, r.st.Product, upd)
	if err != nil {
		return err
	}
	r.st.Endpoint, r.st.StagingEndpoint = p.Endpoint, p.SandboxEndpoint
	// 3scale deploys the whole current configuration to staging on a proxy update.
	r.gatewayWritten, r.pendingDeploy = true, false
	r.note("updated gateway settings %s", keys(upd))
	return nil
}

// ensurePolicies sets the policy chain.
func (r *applyRun) ensurePolicies(ctx context.Context) error {
	if !r.dirty(plan.SectionPolicies) {
		return nil
	}
	want := make([]porta.PolicyConfig, 0, len(r.d.Policies))
	for _, p := range r.d.Policies {
		want = append(want, porta.PolicyConfig{Name: p.Name, Version: p.Version, Configuration: p.Configuration, Enabled: p.Enabled})
	}
	if !r.fresh {
		live, err := r.c.Policies(ctx, r.st.Product)
		if err != nil {
			return err
		}
		if jsonEqual(live, want) {
			return nil
		}
	}
	if _, err := r.c.UpdatePolicies(ctx, r.st.Product, want); err != nil {
		return err
	}
	// Like a proxy update, a policy update deploys to staging.
	r.gatewayWritten, r.pendingDeploy = true, false
	r.note("updated policy chain")
	return nil
}

// gatewayDirty reports whether a section that reaches the gateway is in scope.
func (r *applyRun) gatewayDirty() bool {
	return slices.ContainsFunc([]string{plan.SectionBackend, plan.SectionAPI, plan.SectionProxy, plan.SectionPolicies}, r.dirty)
}

// deployAndPromote deploys to staging when a write left it behind, and promotes the
// latest staging version to production when production has another one.
func (r *applyRun) deployAndPromote(ctx context.Context) error {
	if !r.gatewayDirty() {
		return nil
	}
	// Sections changed by hash but nothing written: an earlier attempt may have
	// written them and failed before deploying; a deploy of unchanged content
	// creates no version.
	redeploy := !r.gatewayWritten && !r.scope.Drift && !r.fresh && !r.adopted
	if r.pendingDeploy || redeploy {
		if _, err := r.c.DeployStaging(ctx, r.st.Product); err != nil {
			return err
		}
	}
	staging, err := r.c.LatestProxyConfig(ctx, r.st.Product, threescale.EnvStaging)
	if errors.Is(err, threescale.ErrNotFound) {
		return fmt.Errorf("product %s has no staging configuration after deploy", r.d.SystemName)
	}
	if err != nil {
		return err
	}
	if !r.fresh {
		prod, err := r.c.LatestProxyConfig(ctx, r.st.Product, threescale.EnvProduction)
		switch {
		case err == nil && prod.Version == staging.Version:
			return nil
		case err != nil && !errors.Is(err, threescale.ErrNotFound):
			return err
		}
	}
	_, err = r.c.PromoteToProduction(ctx, r.st.Product, staging.Version)
	// A conflict means production already has this version: a lost response.
	if err != nil && !errors.Is(err, threescale.ErrConflict) {
		return err
	}
	r.note("promoted configuration version %d to production", staging.Version)
	return nil
}

// deleteStale deletes the metrics and methods no longer wanted, now that production
// no longer uses them.
func (r *applyRun) deleteStale(ctx context.Context) error {
	for _, m := range r.stale {
		var err error
		if m.ParentID != 0 {
			err = r.c.DeleteProductMethod(ctx, r.st.Product, m.ParentID, m.ID)
		} else {
			err = r.c.DeleteProductMetric(ctx, r.st.Product, m.ID)
		}
		if err != nil && !errors.Is(err, threescale.ErrNotFound) {
			return err
		}
		delete(r.metrics, m.SystemName)
		r.note("deleted %s %s", map[bool]string{true: "method", false: "metric"}[m.ParentID != 0], m.SystemName)
	}
	r.stale = nil
	return nil
}

// setIf sets params[key] = want when live differs.
func setIf(params porta.Params, key, live, want string) {
	if live != want {
		params[key] = want
	}
}
