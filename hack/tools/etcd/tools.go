//go:build tools

// Package etcd pins the etcd server that controller-runtime's envtest starts.
package etcd

import (
	_ "go.etcd.io/etcd/server/v3"
)
