# maas-webhook. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
BIN := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/maas-io/maas-webhook/cmd/webhook/app.Version=$(VERSION)
# Go packages under test: everything but the tools modules.
PKGS := ./...
TEST_FLAGS ?= -timeout 30m
# The official API specs, when a copy sits beside the repository (as in CI); the
# conformance tests skip without them.
SPECS ?= $(abspath $(CURDIR)/../shared/specs)

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/webhook.
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/webhook ./cmd/webhook

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd from Go modules into bin/k8s/<version> (once).
	@hack/envtest-assets.sh >/dev/null

.PHONY: packaging-tools
packaging-tools: ## Build helm and kustomize from Go modules into bin/tools (once).
	@hack/packaging-tools.sh >/dev/null

.PHONY: chart-docs
chart-docs: ## Regenerate the values table in charts/maas-webhook/README.md.
	$(GO) run ./test/packaging/cmd/values-table

IMG ?= ghcr.io/maas-io/maas-webhook:$(VERSION)
.PHONY: image
image: ## Build the container image (needs docker or podman; not available on the dev machines).
	$${CONTAINER_TOOL:-docker} build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: test
test: envtest-assets packaging-tools ## Run unit and integration tests (with the fuzz seed corpora) against a real kube-apiserver.
	@if [[ -z "$${MAAS_3SCALE_SPEC:-}" && -f "$(SPECS)/threescale/account_management_api.json" ]]; then export MAAS_3SCALE_SPEC="$(SPECS)/threescale/account_management_api.json"; fi; \
	if [[ -z "$${MAAS_KEYCLOAK_SPEC:-}" && -f "$(SPECS)/keycloak/keycloak-26.6-official-openapi.json" ]]; then export MAAS_KEYCLOAK_SPEC="$(SPECS)/keycloak/keycloak-26.6-official-openapi.json"; fi; \
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" $(GO) test $(TEST_FLAGS) $(PKGS)

.PHONY: fuzz
fuzz: ## Fuzz the parsers for FUZZTIME each (default 30s).
	$(GO) test ./pkg/annotations -run '^$$' -fuzz FuzzParse -fuzztime $${FUZZTIME:-30s}

.PHONY: lint
lint: ## Check gofmt and run go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

.PHONY: bench
bench: envtest-assets ## Run the benchmarks (figures are ratios against a baseline measured in the same run).
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" $(GO) test -run '^$$' -bench . -benchmem $(PKGS)

.PHONY: demo
demo: ## Run the whole system locally: API server, webhook, controller, bootstrap, 3scale and Keycloak simulators (DEMO_FLAGS=--keep stays up).
	$(GO) run ./cmd/sandbox $(DEMO_FLAGS)

.PHONY: render-examples
render-examples: build ## Print the example InferenceServices as the webhook would store them (no cluster).
	@for f in examples/inferenceservices/{granite-chat,code-model,embeddings}.yaml; do \
	  echo "--- $$f (patch)"; $(BIN)/webhook render --config examples/config.yaml -o patch -f $$f; done
	@echo "--- examples/inferenceservices/invalid.yaml (refused, as the webhook would)"
	@! $(BIN)/webhook render --config examples/config.yaml -f examples/inferenceservices/invalid.yaml

.PHONY: clean
clean: ## Remove build outputs (keeps the envtest binaries).
	rm -f $(BIN)/webhook
