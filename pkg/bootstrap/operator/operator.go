// Package operator is the 3scale-operator step of the bootstrap job: the
// apps.3scale.net/v1alpha1 APIManager that deploys 3scale (wildcard domain, tenant,
// file storage class, the custom token policy loaded by both APIcast gateways) and
// the capabilities.3scale.net/v1beta1 CustomPolicyDefinition that registers the
// token policy's configuration schema in the tenant. Both are unstructured objects,
// written after the operator's CRD schemas, so that the project does not depend on
// the operator's Go module. An object that exists without the job's managed-by label
// belongs to a user and is never written.
package operator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/kube"
	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
)

// The kinds the step manages.
var (
	// APIManagerGVK is the 3scale installation.
	APIManagerGVK = schema.GroupVersionKind{Group: "apps.3scale.net", Version: "v1alpha1", Kind: "APIManager"}
	// CustomPolicyDefinitionGVK registers a custom APIcast policy in the tenant.
	CustomPolicyDefinitionGVK = schema.GroupVersionKind{Group: "capabilities.3scale.net", Version: "v1beta1", Kind: "CustomPolicyDefinition"}
)

// PolicySchemaURI is the $schema of APIcast policy manifests.
const PolicySchemaURI = "http://apicast.io/policy-v1.1/schema#"

// ErrNotAvailable is wrapped by WaitAvailable's error when the APIManager did not
// become Available in time.
var ErrNotAvailable = errors.New("APIManager not available")

// APIManager is the desired 3scale installation.
type APIManager struct {
	// Name is the object's name.
	Name string
	// WildcardDomain is the domain the tenant's routes are created under.
	WildcardDomain string
	// TenantName is the tenant's name: its admin portal is <tenant>-admin.<domain>.
	TenantName string
	// FileStorageClass, when set, is the storage class of system's file storage claim.
	FileStorageClass string
}

// Policy is the custom token policy.
type Policy struct {
	// Name is the policy's name, which is also the CustomPolicyDefinition's name.
	Name string
	// Version is the policy's version.
	Version string
	// SecretName is the Secret holding the policy's code and manifest, which the
	// APIManager's gateways load (the operator's customPolicies secretRef).
	SecretName string
	// Summary is the schema's one-line summary.
	Summary string
	// Description are the schema's description paragraphs.
	Description []string
	// Configuration is the JSON schema of the policy's configuration.
	Configuration map[string]any
}

// Options configure the step.
type Options struct {
	// Namespace holds the APIManager and the CustomPolicyDefinition.
	Namespace string
	// APIManager is the desired installation.
	APIManager APIManager
	// Policy is the custom token policy.
	Policy Policy
}

// Ensure creates the CustomPolicyDefinition and the APIManager when absent and
// updates the fields the job owns on those it created; in a dry run it only reads.
func Ensure(ctx context.Context, c client.Client, opts Options, dryRun bool) ([]report.Action, error) {
	cpd, err := opts.customPolicyDefinition()
	if err != nil {
		return nil, err
	}
	am, err := opts.apiManager()
	if err != nil {
		return nil, err
	}
	var actions []report.Action
	for _, o := range []kube.Object[*unstructured.Unstructured]{
		{Kind: CustomPolicyDefinitionGVK.Kind, Desired: cpd, Drift: specDrift(cpd)},
		{Kind: APIManagerGVK.Kind, Desired: am, Drift: opts.apiManagerDrift},
	} {
		a, err := kube.Ensure(ctx, c, dryRun, o)
		if err != nil {
			return actions, err
		}
		actions = append(actions, a)
	}
	return actions, nil
}

// APIManagerKey is the APIManager's object key.
func (o Options) APIManagerKey() client.ObjectKey {
	return client.ObjectKey{Namespace: o.Namespace, Name: o.APIManager.Name}
}

// normalized decodes obj the way the API server's answers are decoded (integers as
// int64), so that desired and live values compare equal.
func normalized(obj map[string]any) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := utiljson.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// object normalizes obj into an unstructured object.
func object(obj map[string]any) (*unstructured.Unstructured, error) {
	m, err := normalized(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func (o Options) customPolicyDefinition() (*unstructured.Unstructured, error) {
	p := o.Policy
	schemaObj := map[string]any{
		"$schema":       PolicySchemaURI,
		"name":          p.Name,
		"version":       p.Version,
		"summary":       p.Summary,
		"configuration": p.Configuration,
	}
	if len(p.Description) > 0 {
		schemaObj["description"] = p.Description
	}
	u, err := object(map[string]any{
		"apiVersion": CustomPolicyDefinitionGVK.GroupVersion().String(),
		"kind":       CustomPolicyDefinitionGVK.Kind,
		"metadata":   map[string]any{"name": p.Name, "namespace": o.Namespace},
		"spec":       map[string]any{"name": p.Name, "version": p.Version, "schema": schemaObj},
	})
	if err != nil {
		return nil, fmt.Errorf("build CustomPolicyDefinition %s/%s: %w", o.Namespace, p.Name, err)
	}
	return u, nil
}

// customPolicy is the gateways' reference to the token policy.
func (o Options) customPolicy() map[string]any {
	return map[string]any{
		"name":      o.Policy.Name,
		"version":   o.Policy.Version,
		"secretRef": map[string]any{"name": o.Policy.SecretName},
	}
}

// gateways are the APIManager specs that load the custom policy.
var gateways = []string{"stagingSpec", "productionSpec"}

func (o Options) apiManager() (*unstructured.Unstructured, error) {
	a := o.APIManager
	spec := map[string]any{"wildcardDomain": a.WildcardDomain, "tenantName": a.TenantName}
	apicast := map[string]any{}
	for _, g := range gateways {
		apicast[g] = map[string]any{"customPolicies": []any{o.customPolicy()}}
	}
	spec["apicast"] = apicast
	if a.FileStorageClass != "" {
		spec["system"] = map[string]any{"fileStorage": map[string]any{
			"persistentVolumeClaim": map[string]any{"storageClassName": a.FileStorageClass},
		}}
	}
	u, err := object(map[string]any{
		"apiVersion": APIManagerGVK.GroupVersion().String(),
		"kind":       APIManagerGVK.Kind,
		"metadata":   map[string]any{"name": a.Name, "namespace": o.Namespace},
		"spec":       spec,
	})
	if err != nil {
		return nil, fmt.Errorf("build APIManager %s/%s: %w", o.Namespace, a.Name, err)
	}
	return u, nil
}

// specDrift owns the whole spec.
func specDrift(desired *unstructured.Unstructured) func(*unstructured.Unstructured) []string {
	return func(live *unstructured.Unstructured) []string {
		want := desired.Object["spec"]
		if equality.Semantic.DeepEqual(want, live.Object["spec"]) {
			return nil
		}
		live.Object["spec"] = want
		return []string{"spec"}
	}
}

// apiManagerDrift owns the wildcard domain, the tenant, the file storage class (when
// configured) and the token policy's entry in each gateway's customPolicies; it
// keeps everything else, other custom policies included.
func (o Options) apiManagerDrift(live *unstructured.Unstructured) []string {
	var fields []string
	set := func(value any, path ...string) {
		got, _, _ := unstructured.NestedFieldNoCopy(live.Object, path...)
		if equality.Semantic.DeepEqual(got, value) {
			return
		}
		// The paths are maps all the way down in a valid APIManager.
		_ = unstructured.SetNestedField(live.Object, value, path...)
		fields = append(fields, fieldPath(path))
	}
	set(o.APIManager.WildcardDomain, "spec", "wildcardDomain")
	set(o.APIManager.TenantName, "spec", "tenantName")
	if sc := o.APIManager.FileStorageClass; sc != "" {
		set(sc, "spec", "system", "fileStorage", "persistentVolumeClaim", "storageClassName")
	}
	// customPolicy holds strings only, which normalizing cannot fail on.
	want, _ := normalized(o.customPolicy())
	for _, g := range gateways {
		path := []string{"spec", "apicast", g, "customPolicies"}
		got, _, _ := unstructured.NestedSlice(live.Object, path...)
		set(withPolicy(got, want), path...)
	}
	return fields
}

// withPolicy returns policies with the entry named like want replaced by want (or
// want appended), keeping the others in order.
func withPolicy(policies []any, want map[string]any) []any {
	out := make([]any, 0, len(policies)+1)
	found := false
	for _, p := range policies {
		if m, ok := p.(map[string]any); ok && m["name"] == want["name"] {
			if !found {
				out = append(out, want)
			}
			found = true
			continue
		}
		out = append(out, p)
	}
	if !found {
		out = append(out, want)
	}
	return out
}

func fieldPath(path []string) string {
	s := path[0]
	for _, p := range path[1:] {
		s += "." + p
	}
	return s
}

// Availability reads whether the APIManager reports the condition Available=True and,
// when not, a short description of why.
func Availability(ctx context.Context, c client.Reader, key client.ObjectKey) (bool, string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(APIManagerGVK)
	if err := c.Get(ctx, key, u); err != nil {
		return false, "", fmt.Errorf("get APIManager %s: %w", key, err)
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, cond := range conds {
		m, _ := cond.(map[string]any)
		if m["type"] != "Available" {
			continue
		}
		if m["status"] == "True" {
			return true, "", nil
		}
		state := fmt.Sprintf("condition Available is %v", m["status"])
		if r, _ := m["reason"].(string); r != "" {
			state += " (" + r + ")"
		}
		return false, state, nil
	}
	return false, "no Available condition yet", nil
}

// Wait bounds WaitAvailable.
type Wait struct {
	// Timeout is how long to wait in total.
	Timeout time.Duration
	// Interval is how often to poll; every poll that finds the APIManager not yet
	// available prints a progress line.
	Interval time.Duration
}

// WaitAvailable polls the APIManager until it is Available, calling progress with a
// line each time it is not. When w.Timeout passes first the error wraps
// ErrNotAvailable and says what the APIManager last reported.
func WaitAvailable(ctx context.Context, c client.Reader, key client.ObjectKey, w Wait, progress func(string)) error {
	start := time.Now()
	const notRead = "not read yet"
	last := notRead
	err := wait.PollUntilContextTimeout(ctx, w.Interval, w.Timeout, true, func(ctx context.Context) (bool, error) {
		ok, state, err := Availability(ctx, c, key)
		switch {
		case err != nil:
			// A failed read (the API server restarting, client throttling near the
			// deadline) is retried until the timeout rather than ending the wait.
			if last == notRead {
				last = err.Error()
			}
			progress(fmt.Sprintf("waiting for APIManager %s to become Available (%s elapsed): %v",
				key, time.Since(start).Round(time.Second), err))
			return false, nil
		case ok:
			return true, nil
		}
		last = state
		progress(fmt.Sprintf("waiting for APIManager %s to become Available (%s elapsed): %s",
			key, time.Since(start).Round(time.Second), state))
		return false, nil
	})
	switch {
	case err == nil:
		return nil
	case wait.Interrupted(err) && ctx.Err() == nil:
		return fmt.Errorf("APIManager %s did not become Available within %s, last: %s: %w", key, w.Timeout, last, ErrNotAvailable)
	default:
		return fmt.Errorf("wait for APIManager %s to become Available: %w", key, err)
	}
}
