{{/* The chart name, 63 characters at most. */}}
{{- define "maas-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of the controller's objects. A release named like the chart (the
usual "helm install maas-webhook") gives plain "maas-webhook", the names the kustomize
manifests use.
*/}}
{{- define "maas-webhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object of the release, without the component. */}}
{{- define "maas-webhook.baseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "maas-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: maas-webhook
{{- end }}

{{/* Labels of the controller's objects. */}}
{{- define "maas-webhook.labels" -}}
{{ include "maas-webhook.baseLabels" . }}
app.kubernetes.io/component: webhook
{{- end }}

{{/* Labels of the bootstrap Job's objects. */}}
{{- define "maas-webhook.bootstrapLabels" -}}
{{ include "maas-webhook.baseLabels" . }}
app.kubernetes.io/component: bootstrap
{{- end }}

{{/* Labels that select the controller pods. */}}
{{- define "maas-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "maas-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{/* The controller's ServiceAccount. */}}
{{- define "maas-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "maas-webhook.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The bootstrap Job's own ServiceAccount (never the controller's). */}}
{{- define "maas-webhook.bootstrapName" -}}
{{- printf "%s-bootstrap" (include "maas-webhook.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The MutatingWebhookConfiguration's name. */}}
{{- define "maas-webhook.webhookConfigName" -}}
{{- default (include "maas-webhook.fullname" .) .Values.webhook.configName }}
{{- end }}

{{/* The Secret holding the webhook's serving certificate. */}}
{{- define "maas-webhook.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "maas-webhook.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{/* The cert-manager Certificate's name. */}}
{{- define "maas-webhook.certificateName" -}}
{{- printf "%s-serving-cert" (include "maas-webhook.fullname" .) }}
{{- end }}

{{/* The image reference: digest wins over tag; the tag defaults to the appVersion. */}}
{{- define "maas-webhook.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The namespace of the 3scale access token Secret. */}}
{{- define "maas-webhook.tokenSecretNamespace" -}}
{{- default .Release.Namespace .Values.config.threescale.tokenSecretRef.namespace }}
{{- end }}

{{/* The namespace the bootstrap Job manages the 3scale operator objects in. */}}
{{- define "maas-webhook.threescaleNamespace" -}}
{{- default .Release.Namespace .Values.bootstrap.config.operator.namespace }}
{{- end }}

{{/*
The controller configuration file (pkg/config): the config values, plus the CA bundle
path when a CA ConfigMap is mounted.
*/}}
{{- define "maas-webhook.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- if .Values.threescaleCA.configMapName }}
{{- $_ := set $cfg.threescale "caBundleFile" (printf "/etc/maas/3scale-ca/%s" .Values.threescaleCA.key) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
The bootstrap configuration file (pkg/bootstrap, examples/bootstrap.yaml): bootstrap.config
with the release namespace, the 3scale defaults taken from the controller configuration,
and the optional parts left out when unset.
*/}}
{{- define "maas-webhook.bootstrapConfig" -}}
{{- $in := .Values.bootstrap.config }}
{{- $kc := omit (deepCopy $in.keycloak) "identityProvider" }}
{{- $_ := set $kc "adminSecret" (pick $in.keycloak.adminSecret "name" "grant") }}
{{- range $k := list "idKey" "secretKey" }}
{{- with get $in.keycloak.adminSecret $k }}{{ $_ := set $kc.adminSecret $k . }}{{ end }}
{{- end }}
{{- if $in.keycloak.identityProvider.alias }}
{{- $idp := deepCopy $in.keycloak.identityProvider }}
{{- if not $idp.config }}{{ $_ := unset $idp "config" }}{{ end }}
{{- $_ := set $kc "identityProvider" $idp }}
{{- end }}
{{- $ts := dict "adminURL" (default .Values.config.threescale.adminURL $in.threescale.adminURL) "ssoName" $in.threescale.ssoName "removeDefaultAPI" $in.threescale.removeDefaultAPI }}
{{- with $in.threescale.portalHost }}{{ $_ := set $ts "portalHost" . }}{{ end }}
{{- if $in.threescale.accessTokenSecret.name }}
{{- $_ := set $ts "accessTokenSecret" $in.threescale.accessTokenSecret }}
{{- else if not $in.operator.enabled }}
{{- $_ := set $ts "accessTokenSecret" (pick .Values.config.threescale.tokenSecretRef "name" "key") }}
{{- end }}
{{- $out := dict "namespace" .Release.Namespace "keycloak" $kc "threescale" $ts }}
{{- if $in.operator.enabled }}
{{- $op := omit (deepCopy $in.operator) "enabled" }}
{{- $_ := set $op "namespace" (include "maas-webhook.threescaleNamespace" .) }}
{{- if not $op.apiManager.fileStorageClass }}{{ $_ := unset $op.apiManager "fileStorageClass" }}{{ end }}
{{- $_ := set $out "operator" $op }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* The bootstrap job's 3scale access token Secret: namespace and name. */}}
{{- define "maas-webhook.bootstrapTokenSecret" -}}
{{- $in := .Values.bootstrap.config }}
{{- if $in.operator.enabled }}
{{- include "maas-webhook.threescaleNamespace" . }}/{{ default "system-seed" $in.threescale.accessTokenSecret.name }}
{{- else }}
{{- .Release.Namespace }}/{{ default .Values.config.threescale.tokenSecretRef.name $in.threescale.accessTokenSecret.name }}
{{- end }}
{{- end }}
