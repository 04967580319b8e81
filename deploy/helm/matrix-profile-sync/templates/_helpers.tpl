{{/* Names */}}
{{- define "mps.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mps.fullname" -}}
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

{{/* "<fullname>-<component>", e.g. release-matrix-profile-sync-writer. Call with (dict "root" $ "component" "writer"). */}}
{{- define "mps.componentName" -}}
{{- printf "%s-%s" (include "mps.fullname" .root | trunc 52 | trimSuffix "-") .component }}
{{- end }}

{{/* Labels */}}
{{- define "mps.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "mps.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: matrix-profile-sync
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Call with (dict "root" $ "component" "writer"). */}}
{{- define "mps.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mps.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mps.componentLabels" -}}
{{ include "mps.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "mps.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end }}

{{- define "mps.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mps.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mps.configName" -}}{{ include "mps.fullname" . }}-config{{- end }}

{{- define "mps.secretName" -}}
{{- default (printf "%s-secret" (include "mps.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/* Checks that apply to every rendering. */}}
{{- define "mps.validate" -}}
{{- $_ := required "serverName is required (the homeserver name users live on)" .Values.serverName }}
{{- if not .Values.kafka.brokers }}{{ fail "kafka.brokers is required (bootstrap servers, host:port each)" }}{{ end }}
{{- $_ := required "postgres.host is required" .Values.postgres.host }}
{{- if gt (int .Values.projector.replicas) (int .Values.kafka.topics.partitions) }}
{{- fail (printf "projector.replicas (%d) exceeds kafka.topics.partitions (%d): the extra projectors would sit idle in the consumer group" (int .Values.projector.replicas) (int .Values.kafka.topics.partitions)) }}
{{- end }}
{{- if and (not .Values.secrets.existingSecret) (eq .Values.registration.mode "token") (lt (len .Values.secrets.registrationSharedSecret) 8) }}
{{- fail "registration.mode token needs secrets.registrationSharedSecret (8 characters or more) or secrets.existingSecret" }}
{{- end }}
{{- if eq .Values.companion.mode "companion" }}
{{- include "mps.validateCompanion" . }}
{{- end }}
{{- if and .Values.kafka.sasl.mechanism (not .Values.kafka.sasl.username) }}
{{- fail "kafka.sasl.username is required when kafka.sasl.mechanism is set" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.host is required when ingress.enabled" }}
{{- end }}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) }}
{{- fail "httpRoute.parentRefs is required when httpRoute.enabled" }}
{{- end }}
{{- $maxMs := int64 .Values.sync.maxTimeoutMs }}
{{- with .Values.httpRoute.requestTimeout }}
{{- if le (atoi (include "mps.durationMs" .)) $maxMs }}
{{- fail (printf "httpRoute.requestTimeout (%s) must exceed sync.maxTimeoutMs (%d ms): a /sync long-poll at the cap would end in the gateway's timeout" . $maxMs) }}
{{- end }}
{{- end }}
{{- range $name := list "proxy-read-timeout" "proxy-send-timeout" }}
{{- with get $.Values.ingress.annotations (printf "nginx.ingress.kubernetes.io/%s" $name) }}
{{- if le (mul (atoi .) 1000) $maxMs }}
{{- fail (printf "ingress.annotations %s (%s s) must exceed sync.maxTimeoutMs (%d ms): a /sync long-poll at the cap would end in the controller's 504" $name . $maxMs) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Checks of companion mode (called by mps.validate). */}}
{{- define "mps.validateCompanion" -}}
{{- $_ := required "companion.upstreamUrl is required in companion mode (the homeserver's client-server base URL, e.g. http://synapse.matrix.svc:8008)" .Values.companion.upstreamUrl }}
{{- if not .Values.secrets.existingSecret }}
{{- include "mps.resolveCompanionTokens" . }}
{{- if eq .Values.secrets.appserviceHsToken .Values.secrets.appserviceAsToken }}
{{- fail "secrets.appserviceHsToken and secrets.appserviceAsToken must differ (the homeserver presents one, the project the other)" }}
{{- end }}
{{- end }}
{{- if or .Values.ingress.enabled .Values.httpRoute.enabled }}
{{- if not .Values.companion.homeserverService.name }}
{{- fail "companion.homeserverService.name is required when ingress or httpRoute is enabled in companion mode: the routes send every path the project does not serve to the homeserver's Service" }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled .Values.companion.homeserverService.namespace (ne .Values.companion.homeserverService.namespace .Release.Namespace) }}
{{- fail (printf "companion.homeserverService.namespace (%s) is not the release's namespace (%s): an Ingress can only route to Services of its own namespace (use httpRoute with a ReferenceGrant, or an ExternalName Service here)" .Values.companion.homeserverService.namespace .Release.Namespace) }}
{{- end }}
{{- if and .Values.companion.failOpen.ingressNginxDefaultBackend (not .Values.ingress.enabled) }}
{{- fail "companion.failOpen.ingressNginxDefaultBackend needs ingress.enabled (it is an ingress-nginx annotation of the chart's Ingress)" }}
{{- end }}
{{- if and .Values.companion.failOpen.ingressNginxDefaultBackend .Values.ingress.matrixErrors.enabled }}
{{- fail "companion.failOpen.ingressNginxDefaultBackend and ingress.matrixErrors.enabled both need ingress-nginx's default-backend annotation (the homeserver for one, the writer for the other): enable one of them" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.homeserverPeers) }}
{{- fail "networkPolicy.homeserverPeers is required in companion mode with networkPolicy.enabled: the homeserver's pods must reach the writer (Application Service transactions) and the services must reach the homeserver" }}
{{- end }}
{{- if and .Values.companion.bootstrap.hook.enabled (not .Values.secrets.existingSecret) (lt (len .Values.secrets.upstreamAdminToken) 8) }}
{{- fail "companion.bootstrap.hook.enabled needs a homeserver admin's access token: secrets.upstreamAdminToken (8 characters or more) or secrets.existingSecret with that key" }}
{{- end }}
{{- end }}

{{/*
Companion mode's appservice tokens, resolved once per rendering: the values when given; otherwise
the ones the release's Secret already holds (lookup: kept across upgrades); otherwise new random
ones. They are written back into .Values.secrets, so every later use in this rendering (the Secret,
its hook copy, the checksum, the registration) sees the same tokens. Without a cluster (helm
template, --dry-run) lookup finds nothing, so each rendering generates new ones.
*/}}
{{- define "mps.resolveCompanionTokens" -}}
{{- $secrets := .Values.secrets }}
{{- $existing := dict }}
{{- if not (and $secrets.appserviceHsToken $secrets.appserviceAsToken) }}
{{- with (lookup "v1" "Secret" .Release.Namespace (include "mps.secretName" .)) }}
{{- $existing = .data | default dict }}
{{- end }}
{{- end }}
{{- range $field, $key := dict "appserviceHsToken" $secrets.keys.appserviceHsToken "appserviceAsToken" $secrets.keys.appserviceAsToken }}
{{- if not (get $secrets $field) }}
{{- $kept := get $existing $key | default "" | b64dec }}
{{- $_ := set $secrets $field (default (randAlphaNum 64) $kept) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
How long a route waits for a response, in seconds: sync.maxTimeoutMs rounded up to whole seconds
plus sync.routeTimeoutMarginSeconds, so a /sync long-poll at the cap is always answered by the
sync API before the router gives up on it (the local and compose nginx routers do the same).
*/}}
{{- define "mps.routeTimeoutSeconds" -}}
{{- add (div (add (int64 .Values.sync.maxTimeoutMs) 999) 1000) (int64 .Values.sync.routeTimeoutMarginSeconds) }}
{{- end }}

{{/* A Gateway API duration (`1h2m3s4ms`) in milliseconds. */}}
{{- define "mps.durationMs" -}}
{{- $units := dict "h" 3600000 "m" 60000 "s" 1000 "ms" 1 }}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(h|ms|m|s)" . -1 }}
{{- $number := regexFind "^[0-9]+" . }}
{{- $total = add $total (mul (atoi $number) (get $units (trimPrefix $number .))) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
The configuration every service reads (non-secret part), as a map of MX_* variables. The
services validate it at start-up (libs/config EnvironmentVariables) and refuse to start on a bad value.
*/}}
{{- define "mps.configData" -}}
MX_SERVER_NAME: {{ .Values.serverName | quote }}
MX_LOG_LEVEL: {{ .Values.logLevel | quote }}
MX_HTTP_HOST: "0.0.0.0"
MX_HTTP_BODY_LIMIT_BYTES: {{ .Values.http.bodyLimitBytes | quote }}
MX_REGISTRATION_MODE: {{ .Values.registration.mode | quote }}
MX_DATABASE_HOST: {{ .Values.postgres.host | quote }}
MX_DATABASE_PORT: {{ .Values.postgres.port | quote }}
MX_DATABASE_NAME: {{ .Values.postgres.database | quote }}
MX_DATABASE_USER: {{ .Values.postgres.user | quote }}
MX_DATABASE_SSLMODE: {{ .Values.postgres.sslMode | quote }}
MX_DATABASE_SCHEMA: {{ .Values.postgres.schema | quote }}
MX_KAFKA_BROKERS: {{ join "," .Values.kafka.brokers | quote }}
MX_KAFKA_CLIENT_ID: {{ .Values.kafka.clientId | quote }}
MX_KAFKA_SSL: {{ .Values.kafka.tls.enabled | quote }}
MX_KAFKA_ACK_TIMEOUT_MS: {{ .Values.kafka.ackTimeoutMs | quote }}
{{- if .Values.kafka.sasl.mechanism }}
MX_KAFKA_SASL_MECHANISM: {{ .Values.kafka.sasl.mechanism | quote }}
MX_KAFKA_SASL_USERNAME: {{ .Values.kafka.sasl.username | quote }}
{{- end }}
MX_TOPIC_PREFIX: {{ .Values.kafka.topics.prefix | quote }}
MX_TOPIC_PARTITIONS: {{ .Values.kafka.topics.partitions | quote }}
MX_TOPIC_REPLICATION_FACTOR: {{ .Values.kafka.topics.replicationFactor | quote }}
MX_PROJECTOR_GROUP_ID: {{ default (printf "%s.projector" .Values.kafka.topics.prefix) .Values.projector.groupId | quote }}
MX_PROJECTOR_SESSION_TIMEOUT_MS: {{ .Values.projector.sessionTimeoutMs | quote }}
{{- with .Values.profile.allowedFields }}
MX_PROFILE_FIELDS_ALLOWED: {{ join "," . | quote }}
{{- end }}
{{- with .Values.profile.disallowedFields }}
MX_PROFILE_FIELDS_DISALLOWED: {{ join "," . | quote }}
{{- end }}
MX_PROFILE_MAX_BYTES: {{ .Values.profile.maxBytes | quote }}
MX_PROFILE_WRITE_RATE_LIMIT: {{ .Values.profile.writeRateLimit | quote }}
MX_PROFILE_WRITE_RATE_WINDOW_MS: {{ .Values.profile.writeRateWindowMs | quote }}
MX_READ_YOUR_WRITES_TIMEOUT_MS: {{ .Values.profile.readYourWritesTimeoutMs | quote }}
MX_SYNC_MAX_TIMEOUT_MS: {{ .Values.sync.maxTimeoutMs | quote }}
MX_SYNC_MAX_PROFILE_FIELDS: {{ .Values.sync.maxProfileFields | quote }}
MX_MSC4429_STABLE: {{ .Values.sync.msc4429Stable | quote }}
MX_SYNC_LAZY_CACHE_DEVICES: {{ .Values.sync.lazyCacheDevices | quote }}
MX_SYNC_FILTER_CACHE_BYTES: {{ int64 .Values.sync.filterCacheBytes | quote }}
MX_SYNC_RECENT_CHANGES_BYTES: {{ int64 .Values.sync.recentChangesBytes | quote }}
MX_SYNC_MEMBERSHIP_CACHE_BYTES: {{ int64 .Values.sync.membershipCacheBytes | quote }}
MX_LOGIN_RATE_LIMIT_PER_ADDRESS: {{ int64 .Values.rateLimits.login.perAddress | quote }}
MX_LOGIN_RATE_LIMIT_PER_ACCOUNT: {{ int64 .Values.rateLimits.login.perAccount | quote }}
MX_LOGIN_RATE_WINDOW_MS: {{ int64 .Values.rateLimits.login.windowMs | quote }}
MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS: {{ int64 .Values.rateLimits.registration.perAddress | quote }}
MX_REGISTRATION_RATE_WINDOW_MS: {{ int64 .Values.rateLimits.registration.windowMs | quote }}
MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS: {{ int64 .Values.rateLimits.createRoom.perAddress | quote }}
MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT: {{ int64 .Values.rateLimits.createRoom.perAccount | quote }}
MX_CREATE_ROOM_RATE_WINDOW_MS: {{ int64 .Values.rateLimits.createRoom.windowMs | quote }}
MX_CREATE_ROOM_MAX_INVITES: {{ int64 .Values.rooms.maxInvitesPerCreate | quote }}
MX_MODE: {{ .Values.companion.mode | quote }}
{{- with .Values.companion.upstreamUrl }}
MX_UPSTREAM_URL: {{ . | quote }}
{{- end }}
MX_UPSTREAM_TIMEOUT_MS: {{ int64 .Values.companion.upstreamTimeoutMs | quote }}
MX_WHOAMI_CACHE_MS: {{ int64 .Values.companion.whoamiCacheMs | quote }}
MX_WHOAMI_NEGATIVE_CACHE_MS: {{ int64 .Values.companion.whoamiNegativeCacheMs | quote }}
{{- end }}

{{/* The secret variables, as container env entries reading a Secret. Call with (dict "root" $ "secretName" name). */}}
{{- define "mps.secretEnv" -}}
{{- $values := .root.Values }}
- name: MX_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $values.secrets.keys.databasePassword }}
{{- if $values.kafka.sasl.mechanism }}
- name: MX_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $values.secrets.keys.kafkaSaslPassword }}
{{- end }}
{{- if eq $values.registration.mode "token" }}
- name: MX_REGISTRATION_SHARED_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $values.secrets.keys.registrationSharedSecret }}
{{- end }}
{{- if eq $values.companion.mode "companion" }}
- name: MX_APPSERVICE_HS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $values.secrets.keys.appserviceHsToken }}
- name: MX_APPSERVICE_AS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $values.secrets.keys.appserviceAsToken }}
- name: MX_UPSTREAM_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $values.secrets.keys.upstreamAdminToken }}
      {{- if not .adminTokenRequired }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{/* Annotations that roll the pods when the configuration or the chart-managed Secret changes. */}}
{{- define "mps.checksums" -}}
checksum/config: {{ include "mps.configData" . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include "mps.secretData" . | sha256sum }}
{{- end }}
{{- end }}

{{- define "mps.secretData" -}}
{{ .Values.secrets.keys.databasePassword }}: {{ .Values.secrets.databasePassword | b64enc | quote }}
{{- if .Values.kafka.sasl.mechanism }}
{{ .Values.secrets.keys.kafkaSaslPassword }}: {{ .Values.secrets.kafkaSaslPassword | b64enc | quote }}
{{- end }}
{{- if eq .Values.registration.mode "token" }}
{{ .Values.secrets.keys.registrationSharedSecret }}: {{ .Values.secrets.registrationSharedSecret | b64enc | quote }}
{{- end }}
{{- if eq .Values.companion.mode "companion" }}
{{- include "mps.resolveCompanionTokens" . }}
{{ .Values.secrets.keys.appserviceHsToken }}: {{ .Values.secrets.appserviceHsToken | b64enc | quote }}
{{ .Values.secrets.keys.appserviceAsToken }}: {{ .Values.secrets.appserviceAsToken | b64enc | quote }}
{{- with .Values.secrets.upstreamAdminToken }}
{{ $.Values.secrets.keys.upstreamAdminToken }}: {{ . | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The container command of a service; the image's entrypoint is replaced so it is explicit here. */}}
{{- define "mps.command" -}}
- /usr/bin/tini
- --
- node
- --enable-source-maps
- dist/apps/{{ . }}/src/main.js
{{- end }}

{{/*
The routing map: which service answers which client path. Exact and Prefix matches only, so
every Ingress controller and Gateway implementation reads it the same way (exact beats
prefix, the longest prefix wins). Same map as deploy/local/nginx and deploy/docker/nginx.conf;
test/deploy checks each against the routes the services actually serve.

Companion mode (same map as deploy/local/nginx/companion.conf.template): the project's few paths
to its services, everything else under /_matrix and /_synapse/client to the homeserver's Service
(component `homeserver`). /_matrix/app/ (the Application Service API) is never routed to the
project: the homeserver calls the writer's Service directly, and through the routes it reaches the
homeserver, which does not serve it (404). `methods`: the route applies to these methods only
(HTTPRoute method matches; the others fall through to the homeserver); `methodless`: where an
Ingress, which cannot match methods, sends the path instead.
*/}}
{{- define "mps.routes" -}}
{{- if eq .Values.companion.mode "companion" }}
- { type: Exact, path: /_matrix/client/v3/sync, component: sync-api }
- { type: Exact, path: /_matrix/client/versions, component: sync-api }
- { type: Prefix, path: /_matrix/client/v3/profile, component: writer, methods: [PUT, DELETE], methodless: {{ .Values.companion.ingressProfileRoute }} }
- { type: Prefix, path: /_matrix/client/unstable/uk.tcpip.msc4133/profile, component: writer, methods: [PUT, DELETE], methodless: {{ .Values.companion.ingressProfileRoute }} }
- { type: Exact, path: /_matrix/client/v3/logout, component: writer, methods: [POST], methodless: writer }
- { type: Exact, path: /_matrix/client/v3/logout/all, component: writer, methods: [POST], methodless: writer }
- { type: Prefix, path: /_matrix, component: homeserver }
- { type: Prefix, path: /_synapse/client, component: homeserver }
{{- else }}
- { type: Exact, path: /_matrix/client/v3/sync, component: sync-api }
- { type: Exact, path: /_matrix/client/versions, component: sync-api }
- { type: Prefix, path: /_matrix/client/v3/user, component: sync-api }
- { type: Prefix, path: /_matrix, component: writer }
{{- end }}
{{- end }}

{{/* The Service name of a route's component (the homeserver's in companion mode). Call with (dict "root" $ "component" "writer"). */}}
{{- define "mps.routeServiceName" -}}
{{- if eq .component "homeserver" }}{{ .root.Values.companion.homeserverService.name }}{{ else }}{{ include "mps.componentName" . }}{{ end }}
{{- end }}

{{/* The Service port of a route's component (number). */}}
{{- define "mps.routeServicePort" -}}
{{- if eq .component "homeserver" }}{{ .root.Values.companion.homeserverService.port }}{{ else }}{{ include "mps.componentPort" . }}{{ end }}
{{- end }}

{{/* The writer's in-cluster URL, where the homeserver sends Application Service transactions. */}}
{{- define "mps.writerUrl" -}}
{{- printf "http://%s.%s.svc:%d" (include "mps.componentName" (dict "root" . "component" "writer")) .Release.Namespace (int .Values.writer.port) }}
{{- end }}

{{- define "mps.registrationSecretName" -}}{{ include "mps.fullname" . }}-appservice-registration{{- end }}

{{/* The Application Service registration the homeserver loads (app_service_config_files); same shape as deploy/local/synapse/appservice.template.yaml. */}}
{{- define "mps.registrationYaml" -}}
{{- include "mps.resolveCompanionTokens" . -}}
# Application Service registration of matrix-profile-sync (companion mode), for the homeserver's
# app_service_config_files. The homeserver PUTs every event to <url>/_matrix/app/v1/transactions/{txnId}
# with the hs_token; the project acts with the as_token, a root credential (users `@.*`: any local
# user, admins included). Keep this Secret like one.
id: {{ .Values.companion.registration.id | quote }}
url: {{ .Values.companion.registration.url | default (include "mps.writerUrl" .) | quote }}
as_token: {{ .Values.secrets.appserviceAsToken | quote }}
hs_token: {{ .Values.secrets.appserviceHsToken | quote }}
sender_localpart: {{ .Values.companion.registration.senderLocalpart | quote }}
rate_limited: false
receive_ephemeral: false
namespaces:
  users:
    - exclusive: false
      regex: '@.*'
  aliases: []
  rooms: []
{{- end }}

{{- define "mps.componentPort" -}}
{{- if eq .component "sync-api" }}{{ .root.Values.syncApi.port }}{{ else if eq .component "writer" }}{{ .root.Values.writer.port }}{{ else }}{{ .root.Values.projector.port }}{{ end }}
{{- end }}

{{/* Extra CA bundle: env, volume mount and volume (each empty when extraCA.name is unset). */}}
{{- define "mps.extraCAEnv" -}}
{{- if .Values.extraCA.name -}}
- name: NODE_EXTRA_CA_CERTS
  value: /etc/matrix-profile-sync/ca/{{ .Values.extraCA.key }}
{{- end }}
{{- end }}

{{- define "mps.extraCAMount" -}}
{{- if .Values.extraCA.name -}}
- name: extra-ca
  mountPath: /etc/matrix-profile-sync/ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "mps.extraCAVolume" -}}
{{- if .Values.extraCA.name -}}
- name: extra-ca
  {{- if eq .Values.extraCA.kind "ConfigMap" }}
  configMap:
    name: {{ .Values.extraCA.name }}
  {{- else }}
  secret:
    secretName: {{ .Values.extraCA.name }}
  {{- end }}
    items:
      - key: {{ .Values.extraCA.key }}
        path: {{ .Values.extraCA.key }}
{{- end }}
{{- end }}
