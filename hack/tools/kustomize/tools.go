//go:build tools

// Package kustomize pins the kustomize CLI that the packaging tests run to build the
// manifests/ overlays. It is a module of its own for the same reason as ../helm.
package kustomize

import (
	_ "sigs.k8s.io/kustomize/kustomize/v5"
)
