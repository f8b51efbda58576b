{{- define "countycloud.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Truncated to 63 characters because some Kubernetes name fields are limited
to that (DNS-1123). The release name is not repeated when it already holds
the chart name.
*/}}
{{- define "countycloud.fullname" -}}
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

{{- define "countycloud.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "countycloud.labels" -}}
helm.sh/chart: {{ include "countycloud.chart" . }}
{{ include "countycloud.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels are immutable on a Deployment: never add to them. */}}
{{- define "countycloud.selectorLabels" -}}
app.kubernetes.io/name: {{ include "countycloud.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "countycloud.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "countycloud.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "countycloud.secretName" -}}
{{- default (include "countycloud.fullname" .) .Values.mysql.existingSecret }}
{{- end }}
