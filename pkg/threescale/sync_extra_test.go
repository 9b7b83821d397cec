package threescale_test

import (
	"context"
	"errors"
	"testing"

	porta "github.com/3scale/3scale-porta-go-client/client"
	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/pkg/threescale"
	threescalesim "github.com/maas-io/maas-webhook/test/threescale"
)

func TestListProductMetricsAndMethodsAndActiveDoc(t *testing.T) {
	sim, ts := threescalesim.NewTestServer(t, threescalesim.Config{})
	c := newClient(t, fastOptions(ts, sim.Token()))
	ctx := context.Background()
	p, err := c.CreateProduct(ctx, "Model", porta.Params{"system_name": "ns-model"})
	check(t, err)
	all, err := c.ListProductMetricsAndMethods(ctx, p.ID)
	check(t, err)
	if len(all) != 1 || all[0].SystemName != "hits" {
		t.Fatalf("metrics of a new product = %+v, want hits", all)
	}
	hits := all[0].ID
	_, err = c.CreateProductMethod(ctx, p.ID, hits, porta.Params{"system_name": "chat", "friendly_name": "Chat"})
	check(t, err)
	_, err = c.CreateProductMetric(ctx, p.ID, porta.Params{"system_name": "tokens", "friendly_name": "Tokens", "unit": "token"})
	check(t, err)
	all, err = c.ListProductMetricsAndMethods(ctx, p.ID)
	check(t, err)
	got := map[string]int64{}
	for _, m := range all {
		got[m.SystemName] = m.ParentID
	}
	if diff := cmp.Diff(map[string]int64{"hits": 0, "chat": hits, "tokens": 0}, got); diff != "" {
		t.Errorf("parents (-want +got):\n%s", diff)
	}

	name, body := "Model", `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{}}`
	d, err := c.CreateActiveDoc(ctx, porta.ActiveDocItem{Name: &name, Body: &body, ServiceID: &p.ID})
	check(t, err)
	read, err := c.ActiveDoc(ctx, *d.ID)
	check(t, err)
	if read.ServiceID == nil || *read.ServiceID != p.ID || *read.Body != body {
		t.Errorf("ActiveDoc = %+v, want bound to %d with the body", read, p.ID)
	}
	if _, err := c.ActiveDoc(ctx, *d.ID+1000); !errors.Is(err, threescale.ErrNotFound) {
		t.Errorf("missing ActiveDoc: error = %v, want ErrNotFound", err)
	}
}
