// Package packaging verifies the Helm chart (charts/maas-webhook), the kustomize
// manifests (manifests/) and their RBAC: helm lint and template with every value set
// under charts/maas-webhook/ci, kustomize builds of every overlay, server-side dry-run
// apply of every rendered object against a real kube-apiserver with the KServe,
// 3scale-operator, cert-manager and prometheus-operator CRDs, and RBAC that is both
// tight (no wildcards) and sufficient (checked as the ServiceAccount itself).
//
// helm and kustomize are built from the Go modules hack/tools/helm and
// hack/tools/kustomize by hack/packaging-tools.sh (which `make test` runs).
//
// The exported helpers render the packaging and impersonate its ServiceAccounts, so that
// the controller's integration tests can run it with exactly the chart's permissions.
package packaging

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/test/testenv"
)

// KubeVersion is the Kubernetes version the chart is rendered for: the one envtest runs.
const KubeVersion = "1.37.2"

// FieldOwner is the field manager of the objects the helpers apply.
const FieldOwner = "maas-packaging-test"

// Tool returns the path of a packaging tool (helm or kustomize) in bin/tools, or an
// error that says how to build it.
func Tool(name string) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "tools", name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not built at %s: run hack/packaging-tools.sh (or `make test`, which runs it)", name, p)
	}
	return p, nil
}

// ChartDir is the chart's directory.
func ChartDir() (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts", "maas-webhook"), nil
}

// Run runs a packaging tool and returns its standard output; the error carries its
// standard error.
func Run(tool string, args ...string) ([]byte, error) {
	path, err := Tool(tool)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// A private Helm home: no user repositories, plugins or caches leak into the tests.
	home, err := os.MkdirTemp("", "maas-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// Release says how to render the chart.
type Release struct {
	// Name is the release name (default maas-webhook, which gives the kustomize names).
	Name string
	// Namespace is the release namespace (default maas-system).
	Namespace string
	// ValuesFiles are values files, relative to the chart directory or absolute.
	ValuesFiles []string
	// Set are --set flags, key=value.
	Set []string
}

// RenderChart runs helm template and decodes every object, strictly.
func RenderChart(r Release) ([]*unstructured.Unstructured, error) {
	out, err := TemplateChart(r)
	if err != nil {
		return nil, err
	}
	return Decode(out)
}

// TemplateChart runs helm template and returns its output.
func TemplateChart(r Release) ([]byte, error) {
	dir, err := ChartDir()
	if err != nil {
		return nil, err
	}
	if r.Name == "" {
		r.Name = "maas-webhook"
	}
	if r.Namespace == "" {
		r.Namespace = "maas-system"
	}
	args := []string{"template", r.Name, dir, "--namespace", r.Namespace, "--kube-version", KubeVersion}
	for _, f := range r.ValuesFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		args = append(args, "--values", f)
	}
	for _, s := range r.Set {
		args = append(args, "--set", s)
	}
	return Run("helm", args...)
}

// BuildKustomization runs kustomize build on a directory under manifests/ and decodes
// every object, strictly.
func BuildKustomization(dir string) ([]*unstructured.Unstructured, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, "manifests", dir)
	}
	out, err := Run("kustomize", "build", dir)
	if err != nil {
		return nil, err
	}
	return Decode(out)
}

// Decode splits a YAML stream into objects. Each document is decoded strictly
// (duplicate keys are errors); empty documents are skipped.
func Decode(stream []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", i, err, doc)
		}
		if string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("document %d: %w\n%s", i, err, doc)
		}
		objs = append(objs, u)
	}
}

// Find returns the objects of a kind, optionally of one name.
func Find(objs []*unstructured.Unstructured, kind, name string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			found = append(found, o)
		}
	}
	return found
}

// rbacKinds are the kinds ApplyRBAC applies.
var rbacKinds = []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}

// EnsureNamespaces creates (for real) every namespace the objects live in.
func EnsureNamespaces(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		ns := o.GetNamespace()
		if o.GetKind() == "Namespace" {
			ns = o.GetName()
		}
		if ns == "" {
			continue
		}
		err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	return nil
}

// ApplyRBAC server-side applies (for real) the ServiceAccounts, roles and bindings among
// objs, creating their namespaces first.
func ApplyRBAC(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		if slices.Contains(rbacKinds, o.GetKind()) {
			rbac = append(rbac, o)
		}
	}
	if len(rbac) == 0 {
		return errors.New("no RBAC objects to apply")
	}
	if err := EnsureNamespaces(ctx, c, rbac); err != nil {
		return err
	}
	for _, o := range rbac {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	return nil
}

// ImpersonateServiceAccount returns a copy of admin that acts as the ServiceAccount,
// with the groups the API server gives ServiceAccount tokens.
func ImpersonateServiceAccount(admin *rest.Config, namespace, name string) *rest.Config {
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + namespace + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}
	return cfg
}

// ServiceAccountConfig applies the RBAC among objs (the chart's or an overlay's rendered
// objects) to the API server behind c, and returns a configuration that impersonates
// the ServiceAccount namespace/name. It returns once the API server's authorizer has
// seen the bindings, probed with the access check ready (which must be one that the
// ServiceAccount is granted).
func ServiceAccountConfig(ctx context.Context, c client.Client, admin *rest.Config, objs []*unstructured.Unstructured, namespace, name string, ready authorizationv1.ResourceAttributes) (*rest.Config, error) {
	if err := ApplyRBAC(ctx, c, objs); err != nil {
		return nil, err
	}
	cfg := ImpersonateServiceAccount(admin, namespace, name)
	sa, err := client.New(cfg, client.Options{Scheme: c.Scheme()})
	if err != nil {
		return nil, err
	}
	// The RBAC authorizer reads roles and bindings from informers: wait until they
	// have caught up instead of failing on the first check.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		allowed, err := Can(ctx, sa, ready)
		return allowed, err
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for %s/%s to be allowed %+v: %w", namespace, name, ready, err)
	}
	return cfg, nil
}

// Can asks the API server, through a SelfSubjectAccessReview made by the client's own
// user, whether that user may do what attrs says.
func Can(ctx context.Context, c client.Client, attrs authorizationv1.ResourceAttributes) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs},
	}
	if err := c.Create(ctx, review); err != nil {
		return false, fmt.Errorf("SelfSubjectAccessReview: %w", err)
	}
	return review.Status.Allowed, nil
}
