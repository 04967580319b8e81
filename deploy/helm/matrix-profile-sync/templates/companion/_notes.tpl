{{/* NOTES.txt in companion mode: how to register the appservice, routing, the bootstrap. */}}
{{- define "mps.companionNotes" -}}
{{- $ns := .Release.Namespace }}
{{- $registration := include "mps.registrationSecretName" . }}
{{- $bootstrap := include "mps.componentName" (dict "root" . "component" "bootstrap") | trunc 52 | trimSuffix "-" }}

Companion mode, in front of the homeserver at {{ .Values.companion.upstreamUrl }}.

1. Register the appservice with the homeserver (once; then restart it).
{{- if and .Values.companion.registration.enabled (not .Values.secrets.existingSecret) }}
   The registration is the Secret "{{ $registration }}", key registration.yaml
   (url {{ .Values.companion.registration.url | default (include "mps.writerUrl" .) }}, the tokens of this release's Secret).
   It must live in the homeserver's namespace; from another one, copy it there.
   See it: kubectl -n {{ $ns }} get secret {{ $registration }} -o jsonpath='{.data.registration\.yaml}' | base64 -d

   Plain Synapse: mount it and list it in homeserver.yaml, e.g. in the Synapse pod spec
     volumes:
       - name: mps-appservice
         secret: { secretName: {{ $registration }} }
     containers[synapse].volumeMounts:
       - { name: mps-appservice, mountPath: /appservices/matrix-profile-sync, readOnly: true }
   and in homeserver.yaml
     app_service_config_files:
       - /appservices/matrix-profile-sync/registration.yaml

   Element Server Suite (element-hq/ess-helm, chart matrix-stack), in its values:
     synapse:
       appservices:
         - secret: {{ $registration }}
           secretKey: registration.yaml
{{- else }}
   The chart renders no registration (secrets.existingSecret or companion.registration.enabled=false):
   write one as deploy/local/synapse/appservice.template.yaml shows (id, url {{ include "mps.writerUrl" . }},
   as_token and hs_token of your Secret, users `@.*` non-exclusive, rate_limited: false) and load it as
   above (app_service_config_files, or ESS's synapse.appservices).
{{- end }}
   The homeserver calls the writer's Service directly ({{ include "mps.writerUrl" . }}); /_matrix/app/ is
   never routed through the Ingress or HTTPRoute.
{{- if and (not .Values.secrets.existingSecret) (not .Release.IsUpgrade) }}
   The appservice tokens were generated unless given, and are kept across upgrades (read back from
   the release's Secret). `helm template` or --dry-run without a cluster generates new ones each time.
{{- end }}

2. Routes: /_matrix/client/v3/sync and /_matrix/client/versions to the sync API; POST
   /_matrix/client/v3/logout[/all] to the writer; profile writes to the writer
   {{- if .Values.httpRoute.enabled }} (HTTPRoute: PUT/DELETE only){{ end }}
   {{- if .Values.ingress.enabled }}{{ if eq .Values.companion.ingressProfileRoute "writer" }} (Ingress: the whole profile prefix goes to the writer, which answers reads from the homeserver){{ else }} (Ingress: not; it cannot match methods, so the profile prefix goes to the homeserver and custom fields written through it reach /sync only after `companion-verify --repair`){{ end }}{{ end }};
   everything else under /_matrix and /_synapse/client to the Service
   "{{ .Values.companion.homeserverService.name | default "(companion.homeserverService.name unset)" }}". Point clients (and remove or narrow the homeserver's own
   Ingress/HTTPRoute for the same host) at these routes.

3. Bootstrap what the homeserver held before installation (idempotent, resumable, progress in its log):
{{- if .Values.companion.bootstrap.hook.enabled }}
   it runs as the post-install/post-upgrade hook Job "{{ $bootstrap }}" (it fails, token refused,
   until the homeserver has loaded the registration: register first, or enable the hook afterwards):
     kubectl -n {{ $ns }} logs -f job/{{ $bootstrap }}
{{- end }}
{{- if .Values.companion.bootstrap.cronJob.enabled }}
   one-off run (after registering the appservice; needs the admin token key "{{ .Values.secrets.keys.upstreamAdminToken }}" in the Secret):
     kubectl -n {{ $ns }} create job {{ $bootstrap | trunc 40 | trimSuffix "-" }}-$(date +%s) --from=cronjob/{{ $bootstrap }}
     kubectl -n {{ $ns }} logs -f job/<that job>
{{- end }}
   Check it afterwards: kubectl -n {{ $ns }} exec deploy/{{ include "mps.componentName" (dict "root" . "component" "writer") }} -- node dist/apps/ops/src/main.js companion-verify
{{- end }}
