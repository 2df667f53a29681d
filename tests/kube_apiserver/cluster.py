"""Everything one stand-in process runs: store, API, HTTPS server, controllers, control API."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import subresources
from .authz import default_identities
from .control import Control
from .controllers import ControllerLoop
from .controllers.runtime import Clock, Runtime
from .faults import Faults
from .kubeconfig import write_kubeconfig
from .protocol import ApiServer
from .resources import BUILTIN, Registry
from .rest import Api
from .storage import Key, Store
from .tls import make_certs
from .writes import Write

CI_NAMESPACE = "team-a"
GPU = "nvidia.com/gpu"  # as the NVIDIA device plugin advertises a node's GPUs
GPUS_PER_NODE = 1
SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", CI_NAMESPACE)


@dataclass(frozen=True)
class ClusterOptions:
    """Port, state directory, seconds of real time per simulated second, simulated node count, and how
    many of those nodes (the last ones) carry GPUs."""

    port: int
    directory: Path
    time_scale: float = 1.0
    nodes: int = 3
    gpu_nodes: int = 0


class Cluster:
    """A small cluster: seeded namespaces and nodes, controllers running, HTTPS on 127.0.0.1."""

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self.store = Store()
        self.api = Api(self.store, Registry())
        self.runtime = Runtime(Clock(options.time_scale), log_dir=options.directory / "pods")
        self.runtime.log_dir.mkdir(exist_ok=True)
        identities = default_identities(CI_NAMESPACE)
        self.faults = Faults()
        self.server = ApiServer(options.port, self.api, identities, self.faults)
        certs = make_certs(options.directory)
        self.server.use_tls(str(certs.cert_file), str(certs.key_file))
        self.server.control = Control(self.store, self.faults, self.runtime, self.server.audit)
        self.server.bookmark_interval = max(0.2, 60 * options.time_scale)
        subresources.install(self.api, self.runtime.log_text, self.runtime.processes.ports_of)
        self.controllers = ControllerLoop(self.api, self.runtime)
        write_kubeconfig(options.directory / "kubeconfig", options.port, certs.ca_pem, identities, CI_NAMESPACE)

    def _seed(self) -> None:
        ns_type = next(t for t in BUILTIN if t.plural == "namespaces")
        node_type = next(t for t in BUILTIN if t.plural == "nodes")
        for name in SEED_NAMESPACES:
            obj = {"metadata": {"name": name}}
            self.api.writer.create(Write(ns_type, Key("", "namespaces", "", name), obj, "kube-apiserver"))
        for n in range(self.options.nodes):
            name = f"node-{n + 1}"
            resources = {"cpu": "4", "memory": "8Gi", "pods": "110"}
            if n >= self.options.nodes - self.options.gpu_nodes:
                resources[GPU] = str(GPUS_PER_NODE)
            node: dict[str, Any] = {
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
                "spec": {},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                    "capacity": dict(resources),
                    "allocatable": dict(resources),
                },
            }
            self.api.writer.create(Write(node_type, Key("", "nodes", "", name), node, "kubelet"))

    def start(self) -> None:
        self._seed()
        self.controllers.start()

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self.server.stopping.set()
        self.controllers.stop()
        self.runtime.processes.stop_all()
        threading.Thread(target=self.server.shutdown, daemon=True).start()
