# syntax=docker/dockerfile:1
# The maas-webhook image: one static binary on distroless, running as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t maas-webhook .
#
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 (the build stage runs
# natively and cross-compiles through TARGETOS/TARGETARCH).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so a source-only change reuses this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/maas-io/maas-webhook/cmd/webhook/app.Version=${VERSION}" \
      -o /out/webhook ./cmd/webhook

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="maas-webhook" \
      org.opencontainers.image.description="Publishes annotated KServe InferenceServices through 3scale API Management" \
      org.opencontainers.image.source="https://github.com/maas-io/maas-webhook" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/webhook /webhook
# Numeric, so that Kubernetes can verify runAsNonRoot; OpenShift may assign another UID.
USER 65532:65532
EXPOSE 9443 8080 8081
ENTRYPOINT ["/webhook"]
