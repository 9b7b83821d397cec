//go:build tools

// Package tools pins the kube-apiserver that controller-runtime's envtest starts in the
// integration tests. etcd is built from a module of its own (./etcd), because the
// Kubernetes module graph would lift it to another version than the one we pin.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
