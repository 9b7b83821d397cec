// Package testenv starts a real kube-apiserver and etcd (controller-runtime's envtest)
// with the CRDs the project works with, for the integration tests. The binaries come
// from `make envtest-assets` (built from Go modules, no download site) and the CRDs from
// the KServe, 3scale-operator and cert-manager Go modules.
package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// CRDSet is a group of CRDs from one upstream project.
type CRDSet struct {
	// Module is the Go module path and version that ships the CRDs.
	Module string
	// Paths are files or directories inside the module.
	Paths []string
}

// The CRD sets tests can ask for.
var (
	// KServe is the InferenceService CRD.
	KServe = CRDSet{Module: "github.com/kserve/kserve@v0.20.0", Paths: []string{"config/crd/full/serving.kserve.io_inferenceservices.yaml"}}
	// ThreeScaleOperator is the APIManager and CustomPolicyDefinition CRDs.
	ThreeScaleOperator = CRDSet{Module: "github.com/3scale/3scale-operator@v0.11.0", Paths: []string{
		"config/crd/bases/apps.3scale.net_apimanagers.yaml",
		"config/crd/bases/capabilities.3scale.net_custompolicydefinitions.yaml",
	}}
	// CertManager is every cert-manager CRD.
	CertManager = CRDSet{Module: "github.com/cert-manager/cert-manager@v1.21.2", Paths: []string{"deploy/crds"}}
)

// Env is a running control plane.
type Env struct {
	// Environment is the envtest environment, for its webhook install options and users.
	Environment *envtest.Environment
	// Config is an admin client configuration.
	Config *rest.Config
	// Client is an admin client with the client-go scheme.
	Client client.Client
}

// Option adjusts the environment before it starts.
type Option func(*envtest.Environment)

// Start starts kube-apiserver and etcd with the given CRD sets (KServe when none is
// given) and stops them when the test ends.
func Start(t testing.TB, sets []CRDSet, opts ...Option) *Env {
	t.Helper()
	env, err := New(sets, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	return env
}

// New starts kube-apiserver and etcd with the given CRD sets (KServe when none is
// given), outside a test (the sandbox uses it). Stop ends them.
func New(sets []CRDSet, opts ...Option) (*Env, error) {
	if len(sets) == 0 {
		sets = []CRDSet{KServe}
	}
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, s := range sets {
		dir, err := moduleDir(s.Module)
		if err != nil {
			return nil, err
		}
		for _, p := range s.Paths {
			paths = append(paths, filepath.Join(dir, p))
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     paths,
		ErrorIfCRDPathMissing: true,
	}
	for _, o := range opts {
		o(env)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return &Env{Environment: env, Config: cfg, Client: c}, nil
}

// Stop stops kube-apiserver and etcd.
func (e *Env) Stop() error { return e.Environment.Stop() }

// AssetsDir returns KUBEBUILDER_ASSETS when set, else the directory `make
// envtest-assets` builds into, failing when the binaries are not there.
func AssetsDir() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	matches, _ := filepath.Glob(filepath.Join(root, "bin", "k8s", "*", "kube-apiserver"))
	if len(matches) == 0 {
		return "", fmt.Errorf("no kube-apiserver under %s/bin/k8s: run `make envtest-assets` (or `make test`, which builds it)", root)
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// RepoRoot is the directory of the project's go.mod.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := string(out[:len(out)-1])
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(gomod), nil
}

var (
	moduleDirsMu sync.Mutex
	moduleDirs   = map[string]string{}
)

// moduleDir downloads a module (once per process; the Go module cache keeps it) and
// returns its directory.
func moduleDir(module string) (string, error) {
	moduleDirsMu.Lock()
	defer moduleDirsMu.Unlock()
	if d, ok := moduleDirs[module]; ok {
		return d, nil
	}
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	moduleDirs[module] = info.Dir
	return info.Dir, nil
}
