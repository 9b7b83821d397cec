//go:build tools

// Package helm pins the Helm CLI that the packaging tests run (helm lint and helm
// template). It is a module of its own: Helm's Kubernetes dependencies must not be
// forced onto the kube-apiserver pins of ../go.mod.
package helm

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
