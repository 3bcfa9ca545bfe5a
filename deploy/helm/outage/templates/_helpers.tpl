{{/* Names, labels and the parts every pod shares. */}}
{{- define "outage.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "outage.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "outage.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* kebab-case name of a service key: reportIngest -> report-ingest */}}
{{- define "outage.serviceName" -}}
{{- regexReplaceAll "([a-z])([A-Z])" . "${1}-${2}" | lower -}}
{{- end -}}

{{- define "outage.clickhouseSecret" -}}
{{- .Values.clickhouse.existingSecret | default (printf "%s-clickhouse" (include "outage.fullname" .)) -}}
{{- end -}}

{{- define "outage.catalogConfigMap" -}}
{{- .Values.catalog.existingConfigMap | default (printf "%s-catalog" (include "outage.fullname" .)) -}}
{{- end -}}

{{/* The environment of every container (lib/config.ts). Call with (dict "root" $ "name" "sink"). */}}
{{- define "outage.env" -}}
{{- $v := .root.Values -}}
- name: KAFKA_BROKERS
  value: {{ required "kafka.brokers is required" $v.kafka.brokers | quote }}
- name: KAFKA_CLIENT_ID
  value: {{ $v.kafka.clientId | quote }}
{{- if $v.kafka.topicPrefix }}
- name: KAFKA_TOPIC_PREFIX
  value: {{ $v.kafka.topicPrefix | quote }}
{{- end }}
- name: KAFKA_REPLICATION_FACTOR
  value: {{ $v.kafka.replicationFactor | quote }}
- name: KAFKA_SSL
  value: {{ ternary "true" "false" $v.kafka.tls.enabled | quote }}
{{- if and $v.kafka.tls.enabled $v.kafka.tls.caSecret.name }}
- name: KAFKA_SSL_CA_FILE
  value: /etc/outage/kafka-ca/{{ $v.kafka.tls.caSecret.key }}
{{- end }}
{{- if $v.kafka.sasl.mechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $v.kafka.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.existingSecret is required with kafka.sasl.mechanism" $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.usernameKey }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.passwordKey }}
{{- end }}
- name: CLICKHOUSE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "outage.clickhouseSecret" .root }}
      key: {{ $v.clickhouse.urlKey }}
{{- if $v.clickhouse.cluster }}
- name: CLICKHOUSE_CLUSTER
  value: {{ $v.clickhouse.cluster | quote }}
{{- end }}
- name: CATALOG
  value: /etc/outage/catalog/catalog.yaml
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: PORT
  value: "9464"
{{- end -}}

{{- define "outage.volumeMounts" -}}
- name: catalog
  mountPath: /etc/outage/catalog
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /app/data
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/outage/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "outage.volumes" -}}
- name: catalog
  configMap:
    name: {{ include "outage.catalogConfigMap" . }}
- name: tmp
  emptyDir: {}
- name: data
  emptyDir: {}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret.name }}
{{- end }}
{{- end -}}

{{- define "outage.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
