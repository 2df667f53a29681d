"""The faithful API stand-in (tests/kube_apiserver) behind the interface the DEPLOY tests share with
``RealCluster``: the example image runs as a real process in every pod, each test namespace's
Service is a NodePort on 127.0.0.1, ``requests`` is the stand-in's request log, and pods listen on
ports from ``port_pool`` so that Prometheus can scrape every pod a release may get."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import free_port
from tests.kube_apiserver.harness import StandIn
from tests.phases.deploy.real_cluster import RealCluster

# 1 simulated second = 0.1 s: minReadySeconds and back-offs keep their order against the real
# processes' start-up (a few hundred ms), and a 1 s progress deadline still runs out quickly.
TIME_SCALE = 0.1


class StandInCluster(RealCluster):
    """The stand-in with the admin context; what RealCluster reads with kubectl it reads here too."""

    real = False

    def __init__(self, directory: Path, repository: str, good_digest: str, pool_size: int = 40) -> None:
        self.standin = StandIn.start(directory, time_scale=TIME_SCALE)
        self.kubeconfig = str(self.standin.kubeconfig)
        self.repository, self.good_digest = repository, good_digest
        self._ports: dict[str, int] = {}
        self._port_pool = [free_port() for _ in range(pool_size)]
        self.standin.control("POST", "ports", {"ports": self._port_pool})

    @property  # type: ignore[override]
    def requests(self) -> list[tuple[str, str, str]]:
        """(method, path without query, content type) of every API request so far."""
        entries = self.standin.control("GET", "requests").body["requests"]
        return [(e["method"], e["request_uri"].split("?")[0], e["content_type"]) for e in entries]

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True) -> str:
        result = self.standin.kubectl(*args, stdin=input_text)
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def register_image(self, reference: str, argv: list[str]) -> None:
        self.standin.control("POST", "images", {"image": reference, "behaviour": "process", "argv": argv})

    def image_fails_to_pull(self, reference: str) -> None:
        self.standin.control("POST", "images", {"image": reference, "behaviour": "pull-failure"})

    def node_port(self, namespace: str) -> int:
        if namespace not in self._ports:
            self._ports[namespace] = free_port()
        return self._ports[namespace]

    def put(self, obj: dict[str, Any]) -> None:
        """Apply ``obj`` as an operator would, creating its namespace first when it is not there yet."""
        namespace = obj["metadata"].get("namespace")
        if namespace and self.get("namespaces", None, namespace) is None:
            self.kubectl("create", "namespace", namespace)
        self.kubectl("apply", "--server-side", "-f", "-", input_text=json.dumps(obj))

    def stop(self) -> None:
        self.standin.stop()
