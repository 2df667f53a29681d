"""Parsing an HPA's status (adapters/targets/kubernetes/autoscalers.py) from the Kubernetes docs' own output."""

from __future__ import annotations

from pathlib import Path

import yaml

from bmad.adapters.targets.kubernetes.autoscalers import autoscaler_status, bundle_autoscalers
from bmad.ports.target import AutoscalerStatus

DATA = Path(__file__).parent / "data"


def test_the_walkthrough_hpa_reads_as_its_bounds_replicas_and_cpu_utilization() -> None:
    hpa = yaml.safe_load((DATA / "hpa-php-apache.yaml").read_text(encoding="utf-8"))
    assert autoscaler_status(hpa) == AutoscalerStatus(
        name="php-apache",
        workload="Deployment/php-apache",
        min_replicas=1,
        max_replicas=10,
        current_replicas=1,
        desired_replicas=1,
        metric="cpu",
        current_value=0.0,
        target_value=50.0,
    )


def test_a_pods_metric_with_quantities_and_an_hpa_without_status() -> None:
    hpa = {
        "metadata": {"name": "queue"},
        "spec": {
            "scaleTargetRef": {"kind": "StatefulSet", "name": "worker"},
            "maxReplicas": 5,
            "metrics": [{"type": "Pods", "pods": {"metric": {"name": "jobs"}, "target": {"averageValue": "500m"}}}],
        },
    }
    status = autoscaler_status(hpa)
    assert (status.workload, status.min_replicas, status.current_replicas) == ("StatefulSet/worker", 1, 0)
    assert (status.metric, status.target_value, status.current_value) == ("jobs", 0.5, None)


def test_only_the_hpas_of_the_bundle_are_named() -> None:
    objects = [
        {"kind": "Deployment", "metadata": {"name": "web"}},
        {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "shop"}},
        {"kind": "HorizontalPodAutoscaler", "metadata": {}},
    ]
    assert bundle_autoscalers(objects) == [("web", "shop")]
