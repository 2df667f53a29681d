"""Manifests the stand-in tests apply (YAML text, as a user would write them)."""

from __future__ import annotations


def deployment(
    name: str = "web",
    namespace: str = "default",
    *,
    replicas: int = 2,
    image: str = "hello:1",
    extra_label: bool = True,
    min_ready: int = 0,
    max_surge: str = "25%",
    max_unavailable: str = "25%",
    deadline: int = 600,
) -> str:
    label = "    tier: backend\n" if extra_label else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    app: {name}
{label}spec:
  replicas: {replicas}
  minReadySeconds: {min_ready}
  progressDeadlineSeconds: {deadline}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: "{max_surge}", maxUnavailable: "{max_unavailable}"}}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: {image}
        ports: [{{containerPort: 8080}}]
        env: [{{name: MODE, value: fast}}]
        readinessProbe:
          httpGet: {{path: /ready, port: 8080}}
          initialDelaySeconds: 2
"""


def statefulset(
    name: str = "db", namespace: str = "default", *, replicas: int = 3, image: str = "db:1", partition: int = 0
) -> str:
    return f"""\
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  serviceName: {name}
  replicas: {replicas}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {{partition: {partition}}}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - {{name: db, image: "{image}"}}
"""


def daemonset(name: str = "agent", namespace: str = "default", *, image: str = "agent:1") -> str:
    return f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - {{name: agent, image: "{image}"}}
"""


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""
