#!/usr/bin/env bash
# Builds the helm and kustomize CLIs that the packaging tests (test/packaging) run, from
# the Go modules hack/tools/helm and hack/tools/kustomize (no download site), into
# bin/tools/. Skips a tool whose binary is already there at the pinned version.
# Prints the tools directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/bin/tools"
mkdir -p "$dir"

# build NAME MODULE_DIR MODULE PACKAGE [LDFLAGS]
build() {
  local name=$1 moddir=$2 module=$3 pkg=$4 ldflags=${5:-} version
  version=$(cd "$moddir" && go list -m -f '{{.Version}}' "$module")
  # The stamp records what the binary was built from, so a bumped pin rebuilds.
  if [[ -x "$dir/$name" && "$(cat "$dir/.$name.version" 2>/dev/null)" == "$version $ldflags" ]]; then
    return 0
  fi
  echo "building $name $version into $dir (once)" >&2
  (cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir/$name.tmp" "$pkg")
  mv "$dir/$name.tmp" "$dir/$name"
  echo "$version $ldflags" >"$dir/.$name.version"
}

# Helm's release builds stamp its version and the Kubernetes version its client-go
# speaks (the default of `helm template`/`helm lint` without a cluster; 1.20 otherwise).
helm_version=$(cd "$root/hack/tools/helm" && go list -m -f '{{.Version}}' helm.sh/helm/v3)
k8s_minor=$(cd "$root/hack/tools/helm" && go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
build helm "$root/hack/tools/helm" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm \
  "-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean
   -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor
   -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
build kustomize "$root/hack/tools/kustomize" sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5
echo "$dir"
