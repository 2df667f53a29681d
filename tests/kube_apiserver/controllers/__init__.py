"""Controllers that make the stand-in's objects behave as on a cluster, run in one loop thread."""

from __future__ import annotations

import sys
import threading
import time
import traceback

from ..rest import Api
from .base import Controller
from .housekeeping import CrdController, GarbageCollector, NamespaceController
from .runtime import Runtime

TICK_SECONDS = 0.02
IDLE_PASS_SECONDS = 0.1  # without any write, a pass this often still moves time-driven states on


def _all(api: Api, runtime: Runtime) -> list[Controller]:
    from .daemonsets import DaemonSetController
    from .deployments import DeploymentController
    from .hpa import HpaController
    from .jobs import JobController
    from .nodeports import NodePortProxy
    from .pods import PodController
    from .replicasets import ReplicaSetController
    from .statefulsets import StatefulSetController

    kinds: list[type[Controller]] = [
        CrdController,
        NamespaceController,
        GarbageCollector,
        HpaController,
        DeploymentController,
        ReplicaSetController,
        StatefulSetController,
        DaemonSetController,
        JobController,
        PodController,
        NodePortProxy,
    ]
    return [kind(api, runtime) for kind in kinds]


class ControllerLoop:
    """Runs every controller's ``reconcile`` every tick until stopped."""

    def __init__(self, api: Api, runtime: Runtime) -> None:
        self.api = api
        self.controllers = _all(api, runtime)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="controllers", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        for controller in self.controllers:
            controller.stop()

    def _run(self) -> None:
        seen_rv, last_pass = -1, 0.0
        while not self.stopping.wait(TICK_SECONDS):
            if self.api.store.rv == seen_rv and time.monotonic() - last_pass < IDLE_PASS_SECONDS:
                continue
            seen_rv, last_pass = self.api.store.rv, time.monotonic()
            for controller in self.controllers:
                try:
                    controller.reconcile()
                except Exception:  # a controller's bug must not stop the others; it shows on stderr
                    traceback.print_exc(file=sys.stderr)
