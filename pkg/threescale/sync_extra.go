package threescale

import (
	"context"
	"fmt"
	"net/http"

	porta "github.com/3scale/3scale-porta-go-client/client"
)

// ProductMetric is a product metric or, with ParentID set, a method. porta-go-client's
// MetricItem drops parent_id, which is the only way to tell the two apart in the one
// list 3scale returns.
type ProductMetric struct {
	// ID is the metric id.
	ID int64 `json:"id"`
	// SystemName is the metric's system name.
	SystemName string `json:"system_name"`
	// FriendlyName is the name shown in the admin portal.
	FriendlyName string `json:"friendly_name"`
	// Unit is the metric's unit (empty for methods).
	Unit string `json:"unit"`
	// Description is the metric's description.
	Description string `json:"description"`
	// ParentID is the hits metric's id for a method, 0 for a metric.
	ParentID int64 `json:"parent_id"`
}

// ListProductMetricsAndMethods lists a product's metrics and methods in one call
// (3scale's metric list includes the methods, each with its parent_id).
func (c *Client) ListProductMetricsAndMethods(ctx context.Context, productID int64) ([]ProductMetric, error) {
	var l struct {
		Metrics []struct {
			Metric ProductMetric `json:"metric"`
		} `json:"metrics"`
	}
	err := c.callJSON(ctx, "ListProductMetrics", productObj(productID), http.MethodGet,
		fmt.Sprintf("/admin/api/services/%d/metrics.json", productID), nil, http.StatusOK, &l)
	if err != nil {
		return nil, err
	}
	out := make([]ProductMetric, 0, len(l.Metrics))
	for _, m := range l.Metrics {
		out = append(out, m.Metric)
	}
	return out, nil
}

// ActiveDoc reads one ActiveDoc.
func (c *Client) ActiveDoc(ctx context.Context, id int64) (*porta.ActiveDocItem, error) {
	var out *porta.ActiveDoc
	err := c.callPorta(ctx, "ReadActiveDoc", fmt.Sprintf("active doc %d", id), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.ActiveDoc(id)
		return err
	})
	return elem(out, err, func(d *porta.ActiveDoc) *porta.ActiveDocItem { return &d.Element })
}
