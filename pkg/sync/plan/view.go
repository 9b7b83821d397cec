// Package plan is the pure half of the sync controller: it turns what the controller
// knows about one InferenceService (a View) and the configuration into the desired 3scale
// state (a Desired), a plain Go value with no clients and no clock. The applier in
// pkg/sync closes the difference between it and 3scale; `webhook render -o plan` prints
// it.
package plan

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// View is what the planner reads about one InferenceService: its identity and metadata,
// the few status fields the readiness gate needs, its namespace's labels and the content
// of the ConfigMap named by maas.io/openapi.
type View struct {
	// Namespace of the InferenceService.
	Namespace string `json:"namespace"`
	// Name of the InferenceService.
	Name string `json:"name"`
	// UID of the InferenceService; it is the ownership mark of everything created.
	UID string `json:"uid"`
	// Annotations of the InferenceService.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Labels of the InferenceService.
	Labels map[string]string `json:"labels,omitempty"`
	// NamespaceLabels are the labels of the namespace; nil when unknown.
	NamespaceLabels map[string]string `json:"namespaceLabels,omitempty"`
	// Ready is true when the Ready condition is True.
	Ready bool `json:"ready"`
	// AddressURL is status.address.url.
	AddressURL string `json:"addressURL,omitempty"`
	// PredictorURL is status.components.predictor.address.url.
	PredictorURL string `json:"predictorURL,omitempty"`
	// OpenAPISpec is the spec from the ConfigMap named by maas.io/openapi (JSON or
	// YAML); empty when the annotation names none.
	OpenAPISpec string `json:"openAPISpec,omitempty"`
}

// OpenAPIConfigMapKeys are the ConfigMap keys a spec is read from, in order of preference.
var OpenAPIConfigMapKeys = []string{"openapi.json", "openapi.yaml", "openapi.yml", "spec.json", "spec.yaml"}

// ViewFromObject reads a View from an InferenceService read as unstructured. The caller
// adds NamespaceLabels and OpenAPISpec.
func ViewFromObject(u *unstructured.Unstructured) View {
	v := View{
		Namespace:   u.GetNamespace(),
		Name:        u.GetName(),
		UID:         string(u.GetUID()),
		Annotations: u.GetAnnotations(),
		Labels:      u.GetLabels(),
	}
	v.AddressURL, _, _ = unstructured.NestedString(u.Object, "status", "address", "url")
	v.PredictorURL, _, _ = unstructured.NestedString(u.Object, "status", "components", "predictor", "address", "url")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Ready" && m["status"] == "True" {
			v.Ready = true
		}
	}
	return v
}

// ErrNoPrivateURL is returned when a model has no private URL yet.
var ErrNoPrivateURL = errors.New("the model has no private URL yet")

// Input is the annotation-contract input of the view.
func (v View) Input() annotations.Input {
	return annotations.Input{Annotations: v.Annotations, Labels: v.Labels, NamespaceLabels: v.NamespaceLabels}
}

// PrivateURL is the private base URL of the model: maas.io/backend-url, else
// status.address.url, else the predictor's address.
func (v View) PrivateURL(s annotations.Spec) (string, error) {
	for _, u := range []string{s.BackendURL, v.AddressURL, v.PredictorURL} {
		if u != "" {
			return u, nil
		}
	}
	return "", fmt.Errorf("%s/%s: %w", v.Namespace, v.Name, ErrNoPrivateURL)
}

// WaitingReason says why the readiness gate is closed, or "" when it is open: nothing
// goes to 3scale until the model is Ready and has a private URL.
func (v View) WaitingReason(s annotations.Spec) string {
	if !v.Ready {
		return "waiting for the model to become Ready"
	}
	if _, err := v.PrivateURL(s); err != nil {
		return "waiting for the model to have an address (status.address.url)"
	}
	return ""
}
