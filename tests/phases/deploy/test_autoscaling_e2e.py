"""``deploy.autoscaling`` end to end: ``bmad run`` on the Kubernetes API stand-in, load on a real service.

The release's URL is the example service (examples/hello) running as a process. A small metrics
pipeline of the test stands in for metrics-server: it reads the service's own
``process_cpu_seconds_total`` and gives the stand-in's HPA controller the CPU the service really
uses under bmad's load generator, in percent of one pod's ``requests.cpu``. The controller then
follows the documented algorithm (tests/kube_apiserver/controllers/hpa.py).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.kube_service import KubeService, digest
from tests.phases.deploy.test_kubernetes_e2e import NS, deployment

pytestmark = [pytest.mark.slow]

CPU_LINE = re.compile(r"^process_cpu_seconds_total ([0-9.eE+-]+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    server = StandIn.start(tmp_path_factory.mktemp("kube-apiserver"))
    try:
        yield server
    finally:
        server.stop()


def cpu_seconds(metrics: str) -> float:
    found = CPU_LINE.search(metrics)
    assert found, "the service exposes no process_cpu_seconds_total"
    return float(found.group(1))


class MetricsFeed:
    """Every 0.2 s: a counter of the service's /metrics, as a rate, turned into the HPA's load by ``to_load``
    (a stand-in for metrics-server; the load is in percent of one pod's request, summed over the pods)."""

    def __init__(
        self,
        standin: StandIn,
        url: str,
        hpa: str,
        counter: Callable[[str], float],
        to_load: Callable[[float], float],
    ) -> None:
        self.standin, self.url, self.hpa, self.counter, self.to_load = standin, url, hpa, counter, to_load
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> float:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            return self.counter(response.read().decode())

    def _run(self) -> None:
        before, at = self._read(), time.monotonic()
        while not self.stop_event.wait(0.2):
            value, now = self._read(), time.monotonic()
            load = self.to_load((value - before) / (now - at))
            before, at = value, now
            self.standin.control("POST", "metrics", {"namespace": NS, "name": self.hpa, "load": round(load, 1)})

    def __enter__(self) -> MetricsFeed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


def cpu_feed(standin: StandIn, url: str, hpa: str, request_cores: float) -> MetricsFeed:
    """The CPU the service process really uses (cores), in percent of one pod's ``requests.cpu``."""
    return MetricsFeed(standin, url, hpa, cpu_seconds, lambda cores: cores / request_cores * 100)


def hpa(name: str, *, low: int, high: int, utilization: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}},
                }
            ],
        },
    }


def scaled_service(tmp_path: Path, standin: StandIn, name: str, url: str, *, cpu: str) -> KubeService:
    autoscaling = {
        "enabled": True,
        "first_scale_up_within_seconds": 15,
        "max_wait_seconds": 40,
        "poll_interval_seconds": 0.2,
        "load": {"connections": 8, "path": "/"},
    }
    svc = KubeService.create(tmp_path, standin, name, context="ci", settings={"url": url, "autoscaling": autoscaling})
    workload = deployment(name, replicas=None)
    workload["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = cpu
    svc.release([workload, hpa(name, low=3, high=10, utilization=50)], "a release with an HPA 3->10")
    return svc


def test_an_hpa_that_scales_3_to_10_under_load_passes_with_its_figures(
    tmp_path: Path, standin: StandIn, hello_service: Callable[..., str]
) -> None:
    """Guards issue 17 item 4: before it, DEPLOY never drove load nor looked at an HPA."""
    url = hello_service()
    svc = scaled_service(tmp_path, standin, "scales", url, cpu="50m")
    with cpu_feed(standin, url, "scales", request_cores=0.05):
        outcome = svc.run(digest("a"))
    check = outcome.check("deploy.autoscaling")
    assert outcome.code == 0 and check["status"] == "pass", outcome.explain()
    figures = check["evidence"]["hpas"][0]
    assert (figures["start_replicas"], figures["highest_replicas"], figures["goal"]) == (3, 10, 10)
    assert figures["first_scale_up_seconds"] is not None and figures["first_scale_up_seconds"] <= 15
    assert figures["goal_reached_seconds"] >= figures["first_scale_up_seconds"]
    assert figures["metric"] == "cpu" and figures["metric_target"] == 50 and figures["metric_peak"] > 50
    replicas = [sample["replicas"] for sample in check["evidence"]["replicas"]]
    assert replicas[0] == 3 and replicas[-1] == 10 and replicas == sorted(replicas)
    assert check["evidence"]["load"] and all(s["rps"] > 0 for s in check["evidence"]["load"])
    assert check["metrics"]["hpa_max_replicas_reached"] == 10


def test_an_hpa_that_never_scales_fails_the_check_with_its_figures(
    tmp_path: Path, standin: StandIn, hello_service: Callable[..., str]
) -> None:
    """Guards issue 17 item 4: a request of 2 cores keeps the utilization at or below 50 % (one Python
    process uses at most one core), the HPA stays at 3. Two cores, not more: the stand-in's scheduler
    places a pod only where its requests fit a node's 4 allocatable cores."""
    url = hello_service()
    svc = scaled_service(tmp_path, standin, "stays", url, cpu="2")
    with cpu_feed(standin, url, "stays", request_cores=2.0):
        outcome = svc.run(digest("b"))
    check = outcome.check("deploy.autoscaling")
    assert outcome.code != 0 and check["status"] == "fail", outcome.explain()
    figures = check["evidence"]["hpas"][0]
    assert (figures["start_replicas"], figures["highest_replicas"]) == (3, 3)
    assert figures["first_scale_up_seconds"] is None and figures["goal_reached_seconds"] is None
    assert figures["metric_last"] is not None and figures["metric_last"] < 50
    assert "stays: 3->3 replicas (goal 10, min 3, max 10), first scale-up never" in check["observed"]
    assert check["evidence"]["load"], "the load was recorded"
