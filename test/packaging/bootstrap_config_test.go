package packaging

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/maas-io/maas-webhook/pkg/bootstrap"
)

// checkBootstrapConfig decodes the bootstrap ConfigMap's bootstrap.yaml, when rendered,
// with the bootstrap job's own parser.
func checkBootstrapConfig(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range Find(objs, "ConfigMap", "") {
		data, found, _ := unstructured.NestedString(o.Object, "data", "bootstrap.yaml")
		if !found {
			continue
		}
		if _, err := bootstrap.ParseConfig([]byte(data)); err != nil {
			t.Errorf("ConfigMap %s: bootstrap.yaml is refused by pkg/bootstrap: %v\n%s", o.GetName(), err, data)
		}
	}
}
