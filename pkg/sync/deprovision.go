package sync

import (
	"context"
	"errors"

	porta "github.com/3scale/3scale-porta-go-client/client"

	"github.com/maas-io/maas-webhook/pkg/threescale"
)

// Deprovision deletes the ActiveDoc, the product and the backend of a model, in that
// order, touching only objects that carry the model's ownership marks (the ActiveDoc:
// bound to its product). Ids come first; a missing product or backend id is looked up
// by system name, so that objects created by an attempt whose ids were never recorded
// are not left behind. Not found counts as done.
func (a *Applier) Deprovision(ctx context.Context, systemName, uid string, ids IDs) error {
	c := a.Client
	productID, err := ownedID(ctx, ids.Product, systemName, uid, c.Product, c.FindProduct, productMarks)
	if err != nil {
		return err
	}
	if err := a.deleteActiveDoc(ctx, ids.ActiveDoc, productID, systemName); err != nil {
		return err
	}
	if productID != 0 {
		if err := c.DeleteProduct(ctx, productID); err != nil && !errors.Is(err, threescale.ErrNotFound) {
			return err
		}
	}
	backendID, err := ownedID(ctx, ids.Backend, systemName, uid, c.Backend, c.FindBackend, backendMarks)
	if err != nil || backendID == 0 {
		return err
	}
	if err := c.DeleteBackend(ctx, backendID); err != nil && !errors.Is(err, threescale.ErrNotFound) {
		return err
	}
	return nil
}

func productMarks(p *porta.ProductItem) (int64, map[string]string)    { return p.ID, p.Annotations }
func backendMarks(b *porta.BackendApiItem) (int64, map[string]string) { return b.ID, b.Annotations }

// ownedID resolves the id of an object to delete: read by id, else found by system
// name; 0 when it is gone or not ours.
func ownedID[T any](ctx context.Context, id int64, systemName, uid string,
	read func(context.Context, int64) (*T, error), find func(context.Context, string) (*T, error),
	marks func(*T) (int64, map[string]string)) (int64, error) {
	var obj *T
	var err error
	if id != 0 {
		obj, err = read(ctx, id)
	} else {
		obj, err = find(ctx, systemName)
	}
	switch {
	case errors.Is(err, threescale.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	}
	got, ann := marks(obj)
	if !threescale.IsOwnedBy(ann, uid) {
		return 0, nil
	}
	return got, nil
}

// deleteActiveDoc deletes the ActiveDoc by id, or finds the one with our system name
// bound to our product.
func (a *Applier) deleteActiveDoc(ctx context.Context, id, productID int64, systemName string) error {
	if id == 0 {
		if productID == 0 {
			return nil
		}
		docs, err := a.Client.ListActiveDocs(ctx)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if deref(d.SystemName) == systemName && deref(d.ServiceID) == productID && d.ID != nil {
				id = *d.ID
			}
		}
		if id == 0 {
			return nil
		}
	}
	if err := a.Client.DeleteActiveDoc(ctx, id); err != nil && !errors.Is(err, threescale.ErrNotFound) {
		return err
	}
	return nil
}
