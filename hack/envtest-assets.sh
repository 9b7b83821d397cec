#!/usr/bin/env bash
# Builds the kube-apiserver and etcd that envtest runs, from Go modules only (no download
# site), into bin/k8s/<version>/. Skips the build when both binaries are already there.
# Prints the assets directory, for KUBEBUILDER_ASSETS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(cd "$root/hack/tools" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
dir="$root/bin/k8s/${version#v}"
if [[ -x "$dir/kube-apiserver" && -x "$dir/etcd" ]]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
echo "building kube-apiserver and etcd ${version} into $dir (a few minutes, once)" >&2
# A progress line every 20 seconds, so a first build is not mistaken for a hang.
( while sleep 20; do echo "  still building kube-apiserver and etcd (${SECONDS}s)" >&2; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
(cd "$root/hack/tools" && CGO_ENABLED=0 go build -trimpath -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
(cd "$root/hack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3)
mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
mv "$dir/etcd.tmp" "$dir/etcd"
echo "$dir"
