"""A real cluster behind the same small interface the DEPLOY tests use with the stand-in.

Used when ``BMAD_TEST_KUBECONFIG`` is set (see .github/workflows/deploy-kind.yml):

* ``BMAD_TEST_KUBECONFIG`` — kubeconfig of the cluster (kind in CI);
* ``BMAD_TEST_IMAGE`` / ``BMAD_TEST_DIGEST`` — the example image pushed to a registry the nodes pull from;
* ``BMAD_TEST_NODEPORT_BASE`` — first of 10 node ports mapped to 127.0.0.1 (kind ``extraPortMappings``);
  each test namespace exposes its Service on one of them.

Only what a real cluster offers: no request log (tests skip assertions on it), pods are not
reachable from Prometheus on the host (the error-rate test is skipped).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

PLURAL_KIND = {"deployments": "deployment", "secrets": "secret", "services": "service", "pods": "pod"}


class RealCluster:
    real = True

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.repository = os.environ["BMAD_TEST_IMAGE"]
        self.good_digest = os.environ["BMAD_TEST_DIGEST"]
        self.nodeport_base = int(os.environ.get("BMAD_TEST_NODEPORT_BASE", "30080"))
        self._ports: dict[str, int] = {}
        self.requests: list[tuple[str, str, str]] = []

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, *args],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def write_kubeconfig(self, path: Path, *, namespace: str | None = None) -> Path:
        data = yaml.safe_load(Path(self.kubeconfig).read_text())
        current = data.get("current-context")
        for ctx in data.get("contexts", []):
            if ctx["name"] == current and namespace:
                ctx["context"]["namespace"] = namespace
        path.write_text(yaml.safe_dump(data))
        return path

    def register_image(self, reference: str, argv: list[str]) -> None:
        return None  # the image is in the registry the nodes pull from

    def node_port(self, namespace: str) -> int:
        if namespace not in self._ports:
            self._ports[namespace] = self.nodeport_base + len(self._ports)
        return self._ports[namespace]

    def service_url(self, namespace: str, name: str) -> str:
        return f"http://127.0.0.1:{self.node_port(namespace)}"

    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        args = ["get", PLURAL_KIND.get(plural, plural), name, "-o", "json", "--show-managed-fields"]
        if namespace:
            args += ["-n", namespace]
        out = self.kubectl(*args, check=False)
        return json.loads(out) if out.strip() else None

    def put(self, obj: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input_text=json.dumps(obj))

    def stop(self) -> None:
        for namespace in self._ports:
            self.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
