"""The stand-in's own control API under ``/_standin/`` (admin token only): what tests set per test.

* ``POST /_standin/faults`` ``{"rules": [{"kind": "429", "path": "...", "every": 3, ...}]}``;
  ``GET /_standin/faults`` lists them with how often each matched (``seen``) and fired;
  ``DELETE /_standin/faults`` clears them;
* ``POST /_standin/compact``: forget the watch history (older versions now get 410 Gone);
* ``POST /_standin/images`` ``{"image": "x", "behaviour": "pull-failure|crash|oom|unschedulable|complete|ok"}``,
  or ``{"image": "x", "behaviour": "process", "argv": [...]}``: pods of that image run ``argv`` for real;
* ``POST /_standin/metrics`` ``{"namespace": "ns", "name": "hpa", "load": 260}``: the CPU load of the
  HPA's target, summed over its pods in percent of one pod's request (spread over the current
  replicas, so scaling out lowers each pod's utilization as it does on a cluster);
* ``GET /_standin/requests``: the request log (audit.py), ``DELETE`` clears it;
* ``POST /_standin/ports`` ``{"ports": [...]}``: the ports ``process`` containers listen on, taken in
  turn (so a test's Prometheus can scrape every pod a release may get).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .audit import AuditLog
from .controllers.runtime import BEHAVIOURS, Runtime
from .errors import ApiError
from .faults import FaultRule, Faults
from .rest import Reply
from .storage import Store


class Control:
    """Handles ``/_standin/*`` requests."""

    def __init__(self, store: Store, faults: Faults, runtime: Runtime, audit: AuditLog) -> None:
        self.store, self.faults, self.runtime, self.audit = store, faults, runtime, audit

    def __call__(self, method: str, path: str, body: Any) -> Reply:
        body = body if isinstance(body, dict) else {}
        what = path[len("/_standin/") :].strip("/")
        if what == "faults" and method == "GET":
            return Reply(200, {"rules": [dataclasses.asdict(r) for r in self.faults.rules]})
        if what == "faults" and method == "DELETE":
            self.faults.set([])
            return Reply(200, {"rules": 0})
        if what == "faults" and method == "POST":
            rules = [FaultRule.from_body(r) for r in body.get("rules") or []]
            self.faults.set(rules)
            return Reply(200, {"rules": len(rules)})
        if what == "compact" and method == "POST":
            return Reply(200, {"resourceVersion": str(self.store.compact())})
        if what == "images" and method == "POST":
            behaviour = str(body.get("behaviour", "ok"))
            if behaviour not in BEHAVIOURS:
                raise ApiError(400, "BadRequest", f"unknown behaviour {behaviour!r}; known: {', '.join(BEHAVIOURS)}")
            self.runtime.image_behaviour[str(body.get("image", ""))] = behaviour
            if behaviour == "process":
                self.runtime.image_argv[str(body.get("image", ""))] = [str(a) for a in body.get("argv") or []]
            return Reply(200, {"image": body.get("image"), "behaviour": behaviour})
        if what == "requests" and method == "GET":
            return Reply(200, {"requests": self.audit.as_json()})
        if what == "requests" and method == "DELETE":
            return Reply(200, {"cleared": self.audit.clear()})
        if what == "ports" and method == "POST":
            self.runtime.processes.port_pool = [int(p) for p in body.get("ports") or []]
            return Reply(200, {"ports": len(self.runtime.processes.port_pool)})
        if what == "metrics" and method == "POST":
            key = (str(body.get("namespace", "default")), str(body.get("name", "")))
            self.runtime.metrics[key] = float(body.get("load", 0))
            return Reply(200, {"load": body.get("load")})
        raise ApiError(404, "NotFound", f"no control endpoint {method} {path}")
