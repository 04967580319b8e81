{{/*
The Deployment, Service and PodDisruptionBudget of one service. Call with
(dict "root" $ "component" "writer" "values" .Values.writer).
*/}}
{{- define "mps.deployment" -}}
{{- $root := .root }}
{{- $values := .values }}
{{- $ctx := dict "root" $root "component" .component }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "mps.componentName" $ctx }}
  labels:
    {{- include "mps.componentLabels" $ctx | nindent 4 }}
spec:
  {{- if not (and $values.autoscaling $values.autoscaling.enabled) }}
  replicas: {{ $values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "mps.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "mps.selectorLabels" $ctx | nindent 8 }}
        app.kubernetes.io/part-of: matrix-profile-sync
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- include "mps.checksums" $root | nindent 8 }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "mps.serviceAccountName" $root }}
      automountServiceAccountToken: {{ $root.Values.serviceAccount.automountToken }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "mps.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            {{- include "mps.command" .component | nindent 12 }}
          envFrom:
            - configMapRef:
                name: {{ include "mps.configName" $root }}
          env:
            - name: MX_HTTP_PORT
              value: {{ $values.port | quote }}
            - name: MX_DATABASE_POOL_SIZE
              value: {{ $values.databasePoolSize | quote }}
            {{- with $values.maxSemiSpaceMiB }}
            - name: NODE_OPTIONS
              value: {{ printf "--max-semi-space-size=%d" (int .) | quote }}
            {{- end }}
            {{- include "mps.secretEnv" (dict "root" $root "secretName" (include "mps.secretName" $root)) | nindent 12 }}
            {{- with (include "mps.extraCAEnv" $root) }}{{ . | nindent 12 }}{{ end }}
          ports:
            - name: http
              containerPort: {{ $values.port }}
              protocol: TCP
          startupProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: { path: /health/live, port: http }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /health/ready, port: http }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with (include "mps.extraCAMount" $root) }}{{ . | nindent 12 }}{{ end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- with (include "mps.extraCAVolume" $root) }}{{ . | nindent 8 }}{{ end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      topologySpreadConstraints:
        {{- if $values.topologySpreadConstraints }}
        {{- toYaml $values.topologySpreadConstraints | nindent 8 }}
        {{- else }}
        {{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
        - maxSkew: 1
          topologyKey: {{ . }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "mps.selectorLabels" $ctx | nindent 14 }}
        {{- end }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "mps.componentName" $ctx }}
  labels:
    {{- include "mps.componentLabels" $ctx | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "mps.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ $values.port }}
      targetPort: http
      protocol: TCP
{{- if $values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "mps.componentName" $ctx }}
  labels:
    {{- include "mps.componentLabels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ $values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "mps.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- if and $values.autoscaling $values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "mps.componentName" $ctx }}
  labels:
    {{- include "mps.componentLabels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "mps.componentName" $ctx }}
  minReplicas: {{ $values.autoscaling.minReplicas }}
  maxReplicas: {{ $values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $values.autoscaling.targetCPUUtilizationPercentage }}
  behavior:
    scaleDown:
      # Long-polls reconnect to another replica on scale-down; avoid flapping.
      stabilizationWindowSeconds: 300
{{- end }}
{{- end }}

{{/* The Job spec of companion mode's bootstrap (the hook Job and the CronJob's template). */}}
{{- define "mps.bootstrapJobSpec" -}}
{{- $ctx := dict "root" . "component" "bootstrap" }}
{{- $values := .Values.companion.bootstrap }}
{{- $secretName := include "mps.secretName" . -}}
backoffLimit: {{ $values.backoffLimit }}
activeDeadlineSeconds: {{ $values.activeDeadlineSeconds }}
ttlSecondsAfterFinished: {{ $values.ttlSecondsAfterFinished }}
template:
  metadata:
    labels:
      {{- include "mps.selectorLabels" $ctx | nindent 6 }}
    annotations:
      {{- include "mps.checksums" . | nindent 6 }}
  spec:
    restartPolicy: Never
    serviceAccountName: {{ include "mps.serviceAccountName" . }}
    automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
    enableServiceLinks: false
    securityContext:
      {{- toYaml .Values.podSecurityContext | nindent 6 }}
    {{- with .Values.imagePullSecrets }}
    imagePullSecrets:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    containers:
      - name: companion-bootstrap
        image: {{ include "mps.image" . }}
        imagePullPolicy: {{ .Values.image.pullPolicy }}
        command:
          - /usr/bin/tini
          - --
          - node
          - --enable-source-maps
          - dist/apps/ops/src/main.js
          - companion-bootstrap
        envFrom:
          - configMapRef:
              name: {{ include "mps.configName" . }}
        env:
          {{- /* The admin token is required here (unlike the services): a missing key stops the pod before it starts, with the key's name. */ -}}
          {{- include "mps.secretEnv" (dict "root" . "secretName" $secretName "adminTokenRequired" true) | trim | nindent 10 }}
          {{- with (include "mps.extraCAEnv" .) }}{{ . | nindent 10 }}{{ end }}
        resources:
          {{- toYaml $values.resources | nindent 10 }}
        securityContext:
          {{- toYaml .Values.containerSecurityContext | nindent 10 }}
        volumeMounts:
          - name: tmp
            mountPath: /tmp
          {{- with (include "mps.extraCAMount" .) }}{{ . | nindent 10 }}{{ end }}
    volumes:
      - name: tmp
        emptyDir:
          sizeLimit: 64Mi
      {{- with (include "mps.extraCAVolume" .) }}{{ . | nindent 6 }}{{ end }}
{{- end }}
