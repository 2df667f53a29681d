"""Small bundle sources written for the renderer tests: a kustomize base with two overlays and a
Helm chart with values per environment."""

from __future__ import annotations

from pathlib import Path

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.test/web:1
"""

HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  minReplicas: 3
  maxReplicas: 10
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
"""

CHART_DEPLOYMENT = """\
# the service's Deployment; its replica count comes from the environment's values
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
"""

CHART_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports:
    - port: 80
      targetPort: 8080
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def kustomize_tree(root: Path) -> Path:
    """``root/deploy``: base/ (a Deployment), overlays/dev (2 replicas), overlays/production (3 + HPA)."""
    deploy = root / "deploy"
    write(deploy / "base" / "deployment.yaml", DEPLOYMENT)
    write(deploy / "base" / "kustomization.yaml", "resources: [deployment.yaml]\n")
    dev = "resources: [../../base]\nreplicas: [{name: web, count: 2}]\n"
    write(deploy / "overlays" / "dev" / "kustomization.yaml", dev)
    write(deploy / "overlays" / "production" / "hpa.yaml", HPA)
    write(
        deploy / "overlays" / "production" / "kustomization.yaml",
        "resources: [../../base, hpa.yaml]\nreplicas: [{name: web, count: 3}]\n",
    )
    return deploy


def helm_chart(root: Path) -> Path:
    """``root/chart``: a Deployment and a Service template, values.yaml plus values-dev/values-production."""
    chart = root / "chart"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    write(chart / "values.yaml", "replicas: 1\nimage:\n  repository: registry.test/web\n  tag: '1'\n")
    write(chart / "values-dev.yaml", "replicas: 2\n")
    write(chart / "values-production.yaml", "replicas: 4\n")
    write(chart / "templates" / "deployment.yaml", CHART_DEPLOYMENT)
    write(chart / "templates" / "service.yaml", CHART_SERVICE)
    write(chart / "templates" / "NOTES.txt", "{{ .Release.Name }} installed\n")
    return chart
