package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/test/testenv"
)

// ciValueSets are the chart's value sets (chart-testing's ci/*-values.yaml convention).
func ciValueSets(t *testing.T) []string {
	t.Helper()
	dir, err := ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no value sets under %s/ci: %v", dir, err)
	}
	var rel []string
	for _, f := range files {
		rel = append(rel, filepath.Join("ci", filepath.Base(f)))
	}
	return rel
}

func mustTool(t *testing.T, name string) {
	t.Helper()
	if _, err := Tool(name); err != nil {
		t.Fatal(err)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// checkNoWildcards fails on any "*" in a rule of a Role or ClusterRole: verbs,
// resources, apiGroups, resourceNames or nonResourceURLs.
func checkNoWildcards(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, p := range rbacProblems(objs) {
		t.Error(p)
	}
}

// rbacProblems lists what checkNoWildcards fails on.
func rbacProblems(objs []*unstructured.Unstructured) (problems []string) {
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, o := range objs {
		if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
			continue
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(o.Object, "aggregationRule"); found {
			report("%s %s: aggregationRule grants whatever other roles grant", o.GetKind(), o.GetName())
		}
		rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
		if len(rules) == 0 {
			report("%s %s has no rules", o.GetKind(), o.GetName())
		}
		for i, r := range rules {
			rule := r.(map[string]any)
			for _, field := range []string{"verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"} {
				values, _, _ := unstructured.NestedStringSlice(rule, field)
				for _, v := range values {
					if strings.Contains(v, "*") {
						report("%s %s/%s rule %d: wildcard %q in %s", o.GetKind(), o.GetNamespace(), o.GetName(), i, v, field)
					}
				}
			}
			if _, ok := rule["nonResourceURLs"]; ok {
				report("%s %s rule %d: nonResourceURLs are not needed", o.GetKind(), o.GetName(), i)
			}
			// Secrets: only by name, except create, which cannot be limited by name,
			// and never cluster-wide.
			resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
			if slices.Contains(resources, "secrets") {
				verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
				names, _, _ := unstructured.NestedStringSlice(rule, "resourceNames")
				if o.GetKind() == "ClusterRole" {
					report("ClusterRole %s rule %d grants Secrets cluster-wide", o.GetName(), i)
				}
				if len(names) == 0 && !slices.Equal(verbs, []string{"create"}) {
					report("%s %s/%s rule %d: Secrets %v without resourceNames", o.GetKind(), o.GetNamespace(), o.GetName(), i, verbs)
				}
				for _, v := range verbs {
					if v == "list" || v == "watch" || v == "delete" || v == "deletecollection" {
						report("%s %s/%s rule %d: Secrets %q", o.GetKind(), o.GetNamespace(), o.GetName(), i, v)
					}
				}
			}
		}
	}
	return problems
}

// podSpecs returns the pod templates of the workloads.
func podSpecs(objs []*unstructured.Unstructured) map[string]map[string]any {
	specs := map[string]map[string]any{}
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment", "Job", "DaemonSet", "StatefulSet":
			spec, _, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec")
			specs[o.GetKind()+"/"+o.GetName()] = spec
		}
	}
	return specs
}

// checkRestricted fails on a pod that the Kubernetes restricted Pod Security Standard or
// OpenShift's restricted-v2 SCC would refuse.
func checkRestricted(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	specs := podSpecs(objs)
	if len(specs) == 0 {
		t.Fatal("no workloads rendered")
	}
	for name, spec := range specs {
		if v, _, _ := unstructured.NestedBool(spec, "securityContext", "runAsNonRoot"); !v {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", name)
		}
		if v, _, _ := unstructured.NestedString(spec, "securityContext", "seccompProfile", "type"); v != "RuntimeDefault" {
			t.Errorf("%s: pod seccompProfile is %q, want RuntimeDefault", name, v)
		}
		for _, field := range []string{"hostNetwork", "hostPID", "hostIPC"} {
			if v, _, _ := unstructured.NestedBool(spec, field); v {
				t.Errorf("%s: %s", name, field)
			}
		}
		if v, found, _ := unstructured.NestedBool(spec, "automountServiceAccountToken"); found && !v {
			t.Errorf("%s: the pod needs its ServiceAccount token", name)
		}
		volumes, _, _ := unstructured.NestedSlice(spec, "volumes")
		for _, v := range volumes {
			if _, ok := v.(map[string]any)["hostPath"]; ok {
				t.Errorf("%s: hostPath volume", name)
			}
		}
		containers, _, _ := unstructured.NestedSlice(spec, "containers")
		initContainers, _, _ := unstructured.NestedSlice(spec, "initContainers")
		for _, c := range append(containers, initContainers...) {
			c := c.(map[string]any)
			cn := fmt.Sprintf("%s container %v", name, c["name"])
			if v, found, _ := unstructured.NestedBool(c, "securityContext", "allowPrivilegeEscalation"); !found || v {
				t.Errorf("%s: allowPrivilegeEscalation is not false", cn)
			}
			if v, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); !v {
				t.Errorf("%s: readOnlyRootFilesystem is not true", cn)
			}
			if v, _, _ := unstructured.NestedBool(c, "securityContext", "privileged"); v {
				t.Errorf("%s: privileged", cn)
			}
			if drop, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop"); !slices.Contains(drop, "ALL") {
				t.Errorf("%s: capabilities.drop is %v, want ALL", cn, drop)
			}
			if add, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "add"); len(add) > 0 {
				t.Errorf("%s: capabilities.add %v", cn, add)
			}
			for _, kind := range []string{"requests", "limits"} {
				if r, _, _ := unstructured.NestedMap(c, "resources", kind); r["cpu"] == nil || r["memory"] == nil {
					t.Errorf("%s: resources.%s need cpu and memory, got %v", cn, kind, r)
				}
			}
			ports, _, _ := unstructured.NestedSlice(c, "ports")
			for _, p := range ports {
				if hp, ok := p.(map[string]any)["hostPort"]; ok {
					t.Errorf("%s: hostPort %v", cn, hp)
				}
			}
		}
	}
}

// checkControllerConfig decodes the controller ConfigMap's config.yaml with the
// controller's own parser, so the chart can never render a file the controller refuses.
func checkControllerConfig(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	n := 0
	for _, o := range objs {
		if o.GetKind() != "ConfigMap" {
			continue
		}
		data, found, _ := unstructured.NestedString(o.Object, "data", "config.yaml")
		if !found {
			continue
		}
		n++
		if _, err := config.Parse([]byte(data)); err != nil {
			t.Errorf("ConfigMap %s: config.yaml is refused by pkg/config: %v\n%s", o.GetName(), err, data)
		}
	}
	if n != 1 {
		t.Errorf("want one ConfigMap with config.yaml, found %d", n)
	}
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name {
			return "", true
		}
	}
	return "", false
}

func containerArgs(t *testing.T, obj *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("%s %s: want one container, got %d", obj.GetKind(), obj.GetName(), len(containers))
	}
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	return args
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func decodeFile(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}

// TestRBACCheckCatches makes sure the RBAC check itself fails on what it must.
func TestRBACCheckCatches(t *testing.T) {
	role := func(kind string, rule map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"kind": kind, "metadata": map[string]any{"name": "r", "namespace": "n"}, "rules": []any{rule}}}
	}
	bad := map[string]*unstructured.Unstructured{
		"wildcard verb":     role("ClusterRole", map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"*"}}),
		"wildcard resource": role("Role", map[string]any{"apiGroups": []any{""}, "resources": []any{"*"}, "verbs": []any{"get"}}),
		"wildcard group":    role("Role", map[string]any{"apiGroups": []any{"*"}, "resources": []any{"pods"}, "verbs": []any{"get"}}),
		"subresources":      role("Role", map[string]any{"apiGroups": []any{""}, "resources": []any{"pods/*"}, "verbs": []any{"get"}}),
		"secrets unnamed":   role("Role", map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{"get"}}),
		"secrets listed":    role("Role", map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "resourceNames": []any{"s"}, "verbs": []any{"list"}}),
		"secrets cluster":   role("ClusterRole", map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "resourceNames": []any{"s"}, "verbs": []any{"get"}}),
		"non-resource URLs": role("ClusterRole", map[string]any{"nonResourceURLs": []any{"/metrics"}, "verbs": []any{"get"}}),
	}
	for name, r := range bad {
		if len(rbacProblems([]*unstructured.Unstructured{r})) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	good := role("Role", map[string]any{"apiGroups": []any{""}, "resources": []any{"secrets"}, "verbs": []any{"create"}})
	if p := rbacProblems([]*unstructured.Unstructured{good}); len(p) > 0 {
		t.Errorf("create Secrets refused: %v", p)
	}
}
