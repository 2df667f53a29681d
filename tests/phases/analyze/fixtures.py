"""Generated fixtures for the readiness catalog: a baseline bundle that passes, and per check a
mutation that makes it fail (and, where the baseline does not exercise a check, one that makes
it pass).

``build(mutation)`` returns an :class:`EvalContext` whose bundle was parsed from YAML text, so
lines are real.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import yaml

from bmad.adapters.kube_validate import BundledSchemaValidator
from bmad.config.analyze import AnalyzeConfig, RequiredSecret
from bmad.config.base import config_json
from bmad.config.models import BmadConfig
from bmad.config.validate import validate as validate_config
from bmad.core.models import PhaseName, PhaseResult, PhaseStatus
from bmad.phases.analyze.attestations import Attestation, Attestations
from bmad.phases.analyze.context import EvalContext, Evidence
from bmad.phases.analyze.manifest_files import parse_manifest_text
from bmad.phases.analyze.manifests import Bundle
from bmad.phases.analyze.readiness_data import Location
from bmad.phases.analyze.validation import validate_bundle
from bmad.phases.gpu_compose_services import gpu_services_in_text

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NS = "shop"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"127.0.0.1:5000/hello:1.2.3@{DIGEST}"
HARDENED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "appArmorProfile": {"type": "RuntimeDefault"},
}
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "100Mi"},
    "limits": {"cpu": "500m", "memory": "128Mi", "ephemeral-storage": "1Gi"},
}
POD_SC = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}

Objects = list[dict[str, Any]]
COMPOSE_FILE = "compose.yml"
Mutation = Callable[[Objects, "Knobs"], None]


class Knobs:
    """Everything a mutation may change besides the manifests."""

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {
            "require_cpu_limits": True,
            "pull_policy": "IfNotPresent",
            "allowed_registries": ["127.0.0.1:5000"],
            "require_digest_pinning": True,
            "max_cpu": "2",
            "max_memory": "4Gi",
            "required_secrets": [RequiredSecret(name="app-secrets", keys=["db-password"])],
            "uid_floor": 10000,
        }
        self.build_metrics: dict[str, Any] | None = {
            "test_pass_rate": 100.0,
            "e2e_pass_rate": 100.0,
            "vulnerabilities_critical": 0,
            "vulnerabilities_high": 0,
            "secrets_in_image": 0,
            "image_size_mb": 120.0,
        }
        self.build_artifacts: dict[str, Any] = {"image_digest": DIGEST, "image": "127.0.0.1:5000/hello"}
        self.measure_metrics: dict[str, Any] | None = {
            "alert_rules_loaded": 25,
            "grafana_dashboards_count": 4,
            "baseline_captured": True,
            "scrape_targets_up": True,
            "test_metric_verified": True,
            "prometheus_uptime_seconds": 432000,
            "sla_met": True,
        }
        self.measure_artifacts: dict[str, Any] = {
            "load_test": {"target_rps": 100, "levels": [{"rps": 50, "passed": True}, {"rps": 100, "passed": True}]}
        }
        self.attested: dict[str, tuple[date, date | None]] = dict.fromkeys(
            ATTESTED, (date(2026, 11, 1), date(2027, 2, 1))
        )
        self.extra_yaml = ""
        self.dry_run: list[tuple[Location, str]] | None = None
        # The environment's compose file (the Compose scope); no service uses a GPU in the baseline.
        self.compose: dict[str, Any] = {"services": {"web": {"image": "127.0.0.1:5000/hello"}}}
        self.config: dict[str, Any] = {
            "service": {"name": "hello", "owner": "team-shop@example.org"},
            "environments": {
                "production": {
                    "production": True,
                    "risk": "high",
                    "monitoring": {
                        "prometheus_url": "http://127.0.0.1:9090",
                        "alertmanager_url": "http://127.0.0.1:9093",
                        "grafana": {"url": "http://127.0.0.1:3000"},
                    },
                }
            },
            "deploy": {"health_path": "/health", "rollout_timeout_seconds": 300},
        }


ATTESTED = [
    "TQ-030",
    "TQ-031",
    "TQ-033",
    "SC-050",
    "SC-055",
    "SC-056",
    "SC-057",
    "SC-058",
    "SC-059",
    "MO-006",
    "MO-007",
    "MO-013",
    "MO-014",
    "MO-020",
    "MO-021",
    "MO-022",
    "IS-027",
    "IS-029",
    "RE-017",
    "RE-018",
    "RE-019",
    "RE-020",
]


def meta(name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "labels": {"app.kubernetes.io/name": "web", **labels}}


def container(name: str = "web", *, init: bool = False) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "resources": copy.deepcopy(RESOURCES),
        "securityContext": copy.deepcopy(HARDENED),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if init:
        c["command"] = ["/bin/migrate"]
        return c
    c.update(
        {
            "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
            "env": [
                {"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "LOG_LEVEL"}}},
                {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector:4317"},
            ],
            "volumeMounts": [{"name": "secrets", "mountPath": "/run/secrets/app", "readOnly": True}],
            "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5},
            "livenessProbe": {
                "httpGet": {"path": "/health", "port": "http"},
                "periodSeconds": 10,
                "failureThreshold": 3,
            },
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        }
    )
    return c


def pod_spec() -> dict[str, Any]:
    return {
        "serviceAccountName": "web",
        "automountServiceAccountToken": False,
        "priorityClassName": "production",
        "securityContext": copy.deepcopy(POD_SC),
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app": "web"}},
            }
        ],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": {"app": "web"}},
                        },
                    }
                ]
            }
        },
        "initContainers": [container("migrate", init=True)],
        "containers": [container()],
        "volumes": [{"name": "secrets", "secret": {"secretName": "app-secrets"}}],
    }


# One literal (longer than 60 lines on purpose): the baseline bundle reads top to bottom like the YAML it becomes.
def baseline() -> Objects:
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("web"), "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("web-config"), "data": {"LOG_LEVEL": "info"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("web", **{"app.kubernetes.io/version": "1.2.3"}),
            "spec": {
                "revisionHistoryLimit": 5,
                "progressDeadlineSeconds": 300,
                "minReadySeconds": 5,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {
                        "labels": {"app": "web", "app.kubernetes.io/name": "web"},
                        "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
                    },
                    "spec": pod_spec(),
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {**meta("web"), "annotations": {"prometheus.io/scrape": "true"}},
            "spec": {
                "type": "ClusterIP",
                "selector": {"app": "web"},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http"},
                    {"name": "metrics", "port": 9090, "targetPort": 9090},
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {**meta("web"), "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}},
            "spec": {
                "tls": [{"hosts": ["web.example.org"], "secretName": "web-tls"}],
                "rules": [
                    {
                        "host": "web.example.org",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta("web"),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 3,
                "maxReplicas": 10,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                    }
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta("web"),
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta("web"),
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"ports": [{"port": 8080}]}],
                "egress": [{"ports": [{"port": 5432}]}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("limits"),
            "spec": {"limits": [{"type": "Container", "default": {"memory": "256Mi"}}]},
        },
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("quota"),
            "spec": {"hard": {"requests.cpu": "10", "requests.memory": "20Gi"}},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta("web-reader"),
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta("web-reader"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "web-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": NS}],
        },
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "prometheusrules.monitoring.coreos.com"},
            "spec": {
                "group": "monitoring.coreos.com",
                "scope": "Namespaced",
                "names": {
                    "kind": "PrometheusRule",
                    "plural": "prometheusrules",
                    "singular": "prometheusrule",
                    "listKind": "PrometheusRuleList",
                },
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "properties": {
                                            "groups": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "x-kubernetes-preserve-unknown-fields": True,
                                                },
                                            }
                                        },
                                    }
                                },
                            }
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": meta("web-alerts"),
            "spec": {
                "groups": [
                    {
                        "name": "web",
                        "rules": [
                            {
                                "alert": "WebDown",
                                "expr": 'up{job="web"} == 0',
                                "for": "5m",
                                "labels": {"severity": "critical"},
                                "annotations": {
                                    "summary": "web is down",
                                    "description": "no target up for 5m",
                                    "runbook_url": "https://runbooks.example.org/web-down",
                                },
                            }
                        ],
                    }
                ]
            },
        },
    ]


def statefulset() -> list[dict[str, Any]]:
    spec = pod_spec()
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta("db", **{"app.kubernetes.io/version": "15"}),
            "spec": {
                "serviceName": "db",
                "replicas": 2,
                "updateStrategy": {"type": "RollingUpdate"},
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db", "app.kubernetes.io/name": "db"}}, "spec": spec},
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "fast",
                            "resources": {"requests": {"storage": "10Gi"}},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("db"),
            "spec": {
                "clusterIP": "None",
                "selector": {"app": "db"},
                "ports": [{"name": "http", "port": 8080, "targetPort": 8080}],
            },
        },
    ]


def cronjob() -> dict[str, Any]:
    spec = pod_spec()
    spec["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta("backup"),
        "spec": {
            "schedule": "0 3 * * *",
            "startingDeadlineSeconds": 300,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {
                "spec": {"backoffLimit": 2, "template": {"metadata": {"labels": {"app": "backup"}}, "spec": spec}}
            },
        },
    }


def job() -> dict[str, Any]:
    spec = pod_spec()
    spec["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta("migrate"),
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": 600,
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": {"app": "migrate"}}, "spec": spec},
        },
    }


def pvc() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta("data"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "fast",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }


def find(objects: Objects, kind: str, name: str | None = None) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name):
            return obj
    raise KeyError(f"{kind}/{name}")


def web(objects: Objects) -> dict[str, Any]:
    return find(objects, "Deployment", "web")


def web_pod(objects: Objects) -> dict[str, Any]:
    spec: dict[str, Any] = web(objects)["spec"]["template"]["spec"]
    return spec


def web_container(objects: Objects) -> dict[str, Any]:
    c: dict[str, Any] = web_pod(objects)["containers"][0]
    return c


def to_yaml(objects: Objects) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


_VALIDATOR: BundledSchemaValidator | None = None


def validator() -> BundledSchemaValidator:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = BundledSchemaValidator("1.30")
    return _VALIDATOR


def build(mutation: Mutation | None = None, *, validate: bool = False, extra_yaml: str = "") -> EvalContext:
    objects = baseline()
    knobs = Knobs()
    if mutation is not None:
        mutation(objects, knobs)
    text = to_yaml(objects) + extra_yaml + knobs.extra_yaml
    parsed, findings = parse_manifest_text(text, file="k8s/all.yaml")
    bundle = Bundle(parsed, findings, ["k8s/all.yaml"], source="k8s")
    settings = AnalyzeConfig(**knobs.settings)
    config = validate_config(BmadConfig, {**knobs.config, "analyze": config_json(settings)})
    phases: dict[PhaseName, PhaseResult] = {}
    if knobs.build_metrics is not None:
        phases[PhaseName.BUILD] = PhaseResult(
            PhaseName.BUILD, PhaseStatus.PASSED, metrics=knobs.build_metrics, artifacts=knobs.build_artifacts
        )
    if knobs.measure_metrics is not None:
        phases[PhaseName.MEASURE] = PhaseResult(
            PhaseName.MEASURE, PhaseStatus.PASSED, metrics=knobs.measure_metrics, artifacts=knobs.measure_artifacts
        )
    attestations = Attestations(
        [
            Attestation(item, "alice@example.org", when, "checked", expires)
            for item, (when, expires) in knobs.attested.items()
        ],
        source="attestations.yaml",
    )
    ctx = EvalContext(
        bundle=bundle,
        settings=config.analyze,
        config=config,
        environment_name="production",
        evidence=Evidence(phases),
        attestations=attestations,
        now=NOW,
    )
    if knobs.dry_run is not None:
        ctx.dry_run = knobs.dry_run
    ctx.compose = gpu_services_in_text(yaml.safe_dump(knobs.compose, sort_keys=False), COMPOSE_FILE)
    if validate:
        report = validate_bundle(bundle, validator(), kubernetes_version="1.30")
        ctx.schema_results = report.schema_results
    return ctx
