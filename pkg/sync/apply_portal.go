package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	gosync "sync"

	porta "github.com/3scale/3scale-porta-go-client/client"

	"github.com/maas-io/maas-webhook/pkg/sync/plan"
	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// docBody is the body the ActiveDoc should have: the desired one, with the production
// endpoint as its server when the planner asked for it.
func (r *applyRun) docBody() (string, error) {
	doc := r.d.ActiveDoc
	if !doc.ServerFromEndpoint {
		return doc.Body, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(doc.Body), &m); err != nil {
		return "", fmt.Errorf("ActiveDocs body: %w", err)
	}
	m["servers"] = []any{map[string]any{"url": r.st.Endpoint}}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("ActiveDocs body: %w", err)
	}
	return string(b), nil
}

// ensureActiveDoc creates, updates or deletes the ActiveDoc. ActiveDocs carry no
// annotations, so ownership is the binding to our product.
func (r *applyRun) ensureActiveDoc(ctx context.Context) error {
	want := r.d.ActiveDoc
	if want == nil {
		if r.st.ActiveDoc == 0 {
			return nil
		}
		if err := r.c.DeleteActiveDoc(ctx, r.st.ActiveDoc); err != nil && !errors.Is(err, threescale.ErrNotFound) {
			return err
		}
		r.st.ActiveDoc = 0
		r.note("deleted ActiveDocs %s", r.d.SystemName)
		return nil
	}
	if r.st.ActiveDoc != 0 && !r.dirty(plan.SectionDoc) && !r.endpointMoved() {
		return nil
	}
	body, err := r.docBody()
	if err != nil {
		return err
	}
	var live *porta.ActiveDocItem
	if r.st.ActiveDoc != 0 {
		d, err := r.c.ActiveDoc(ctx, r.st.ActiveDoc)
		switch {
		case errors.Is(err, threescale.ErrNotFound):
			r.st.ActiveDoc = 0
		case err != nil:
			return err
		default:
			live = d
		}
	}
	if live == nil {
		item := porta.ActiveDocItem{
			SystemName: &r.d.SystemName, Name: &want.Name, Description: &want.Description,
			Published: &want.Published, Body: &body, ServiceID: &r.st.Product,
		}
		d, err := r.c.CreateActiveDoc(ctx, item)
		if err == nil {
			r.st.ActiveDoc = *d.ID
			r.note("created ActiveDocs %s", r.d.SystemName)
			return nil
		}
		if !errors.Is(err, threescale.ErrConflict) {
			return err
		}
		if live, err = r.findActiveDoc(ctx); err != nil {
			return err
		}
		r.st.ActiveDoc = *live.ID
	}
	if live.ServiceID == nil || *live.ServiceID != r.st.Product {
		return &NotManagedError{Kind: "ActiveDocs", SystemName: r.d.SystemName}
	}
	upd := porta.ActiveDocItem{ID: live.ID}
	changed := false
	if deref(live.Name) != want.Name {
		upd.Name, changed = &want.Name, true
	}
	if deref(live.Description) != want.Description {
		upd.Description, changed = &want.Description, true
	}
	if live.Published == nil || *live.Published != want.Published {
		upd.Published, changed = &want.Published, true
	}
	if !jsonTextEqual(deref(live.Body), body) {
		upd.Body, changed = &body, true
	}
	if !changed {
		return nil
	}
	if _, err := r.c.UpdateActiveDoc(ctx, upd); err != nil {
		return err
	}
	r.note("updated ActiveDocs %s", r.d.SystemName)
	return nil
}

// findActiveDoc finds the ActiveDoc with our system name after a create conflict.
func (r *applyRun) findActiveDoc(ctx context.Context) (*porta.ActiveDocItem, error) {
	docs, err := r.c.ListActiveDocs(ctx)
	if err != nil {
		return nil, err
	}
	for i := range docs {
		if deref(docs[i].SystemName) == r.d.SystemName && docs[i].ID != nil {
			return &docs[i], nil
		}
	}
	return nil, &NotManagedError{Kind: "ActiveDocs", SystemName: r.d.SystemName}
}

func (r *applyRun) endpointMoved() bool {
	return r.d.ActiveDoc != nil && r.d.ActiveDoc.ServerFromEndpoint && r.st.Endpoint != r.startEndpoint
}

// ensurePortal makes sure the product has a default service plan and, on the first
// sync, subscribes every developer account to it.
func (r *applyRun) ensurePortal(ctx context.Context) error {
	subscribe := r.d.Portal.SubscribeDeveloperAccounts && (r.scope.Subscribe || r.fresh)
	if !subscribe && !(r.d.Portal.DefaultServicePlan && r.dirty(plan.SectionPortal)) {
		return nil
	}
	plans, err := r.c.ListServicePlans(ctx, r.st.Product)
	if err != nil {
		return err
	}
	if len(plans) == 0 {
		return fmt.Errorf("product %s has no service plan", r.d.SystemName)
	}
	i := slices.IndexFunc(plans, func(p threescale.ServicePlan) bool { return p.Default })
	if i < 0 {
		i = 0
		if _, err := r.c.SetDefaultServicePlan(ctx, r.st.Product, plans[0].ID); err != nil {
			return err
		}
		r.note("set default service plan %s", plans[0].Name)
	}
	if !subscribe {
		return nil
	}
	return r.subscribeAll(ctx, plans[i].ID)
}

// subscribeAll subscribes every developer account with bounded concurrency; an account
// already subscribed counts as done.
func (r *applyRun) subscribeAll(ctx context.Context, servicePlanID int64) error {
	accounts, err := r.c.ListDeveloperAccounts(ctx)
	if err != nil {
		return err
	}
	ids := make(chan int64)
	var (
		wg   gosync.WaitGroup
		mu   gosync.Mutex
		errs []error
		n    int
	)
	for range min(r.conc, max(len(accounts), 1)) {
		wg.Go(func() {
			for id := range ids {
				_, err := r.c.CreateServiceSubscription(ctx, id, servicePlanID)
				mu.Lock()
				switch {
				case err == nil:
					n++
				case !errors.Is(err, threescale.ErrAlreadySubscribed):
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, a := range accounts {
		if a.ID != nil {
			ids <- *a.ID
		}
	}
	close(ids)
	wg.Wait()
	if n > 0 {
		r.note("subscribed %d developer accounts", n)
	}
	return errors.Join(errs...)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// jsonEqual compares two values by their JSON form (maps sort their keys).
func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && jsonTextEqual(string(ja), string(jb))
}

// jsonTextEqual compares two JSON texts semantically.
func jsonTextEqual(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return a == b
	}
	return reflect.DeepEqual(va, vb)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// keys lists the parameter names, sorted, for change notes.
func keys(p porta.Params) []string { return sortedKeys(p) }
