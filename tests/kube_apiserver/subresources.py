"""Subresources and review kinds: ``/scale``, ``pods/log``, access and rules reviews.

* scale: an ``autoscaling/v1`` Scale over ``spec.replicas`` (https://kubernetes.io/docs/reference/
  kubernetes-api/workload-resources/deployment-v1/ "replace scale of the specified Deployment");
* pods/log: the text of one container's log, ``previous=true`` for the last terminated instance
  (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/ "read log"), with
  ``tailLines`` and ``limitBytes``;
  a pod with several containers needs ``container`` (400 as the kubelet's answer);
* SelfSubjectAccessReview / SelfSubjectRulesReview: created, never stored ("Checking API access",
  https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access).
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from . import authz, patch, selection
from .errors import ApiError, bad_request, not_found
from .rest import JSON_PATCH, MERGE, STRATEGIC, Api, Reply, Request
from .writes import Write

Obj = dict[str, Any]
LogSource = Callable[[str, str, str, bool], str | None]
PortSource = Callable[[str], list[int]]


def _review(
    kind: str, compute: Callable[[authz.Identity, Obj], Obj], group: str = "authorization.k8s.io"
) -> Callable[[Request], Reply]:
    def handle(req: Request) -> Reply:
        body = req.body if isinstance(req.body, dict) else {}
        spec = body.get("spec") or {}
        return Reply(
            201,
            {
                "kind": kind,
                "apiVersion": f"{group}/v1",
                "metadata": {"creationTimestamp": None},
                "spec": spec,
                "status": compute(req.identity, spec),
            },
        )

    return handle


def _selector_text(obj: Obj) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": _selector_text(obj)},
    }


def _scale(api: Api) -> Callable[[Request], Reply]:
    def handle(req: Request) -> Reply:
        live = api.store.get(req.key())
        if live is None:
            raise not_found(req.rt.group, req.rt.plural, req.name)
        scale = _scale_of(live)
        if req.method == "GET":
            return Reply(200, scale)
        content_type = req.content_type.split(";")[0]
        if req.method == "PUT":
            scale = req.body
        elif content_type == MERGE:
            scale = patch.merge_patch(scale, req.body)
        elif content_type == JSON_PATCH:
            scale = patch.json_patch(scale, req.body)
        elif content_type == STRATEGIC:
            scale = patch.strategic_merge(scale, req.body)
        else:
            raise bad_request(f"unsupported patch type {content_type} for scale")
        live["spec"]["replicas"] = int((scale.get("spec") or {}).get("replicas", 0))
        outcome = api.writer.update(Write(req.rt, req.key(), live, req.manager, "scale", req.dry_run))
        return Reply(200, _scale_of(outcome.obj))

    return handle


def _logs(api: Api, source: LogSource) -> Callable[[Request], Reply]:
    def handle(req: Request) -> Reply:
        pod = api.store.get(req.key())
        if pod is None:
            raise not_found("", "pods", req.name)
        names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        container = req.query.get("container") or (names[0] if len(names) == 1 else "")
        if not container:
            listed = " ".join(names)
            raise bad_request(f"a container name must be specified for pod {req.name}, choose one of: [{listed}]")
        previous = req.query.get("previous") in ("true", "1")
        text = source(req.namespace, req.name, container, previous)
        if text is None:
            which = "previous terminated container" if previous else "container"
            message = f'{which} "{container}" in pod "{req.name}" not found'
            raise ApiError(400, "BadRequest", message)
        return Reply(200, _trim(text, req.query), content_type="text/plain")

    return handle


def _backend_ports(api: Api, req: Request, ports_of: PortSource) -> list[int]:
    if req.rt.plural == "pods":
        pod = api.store.get(req.key())
        return ports_of(pod["metadata"]["uid"]) if pod else []
    service = api.store.get(req.key())
    if service is None:
        raise not_found("", "services", req.name)
    selector = {"matchLabels": (service.get("spec") or {}).get("selector") or {}}
    pods, _ = api.store.list_objects("", "pods", req.namespace)
    ready = [p for p in pods if selection.matches_labels(selector, (p["metadata"].get("labels") or {})) and _ready(p)]
    return [port for p in ready for port in ports_of(p["metadata"]["uid"])]


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _proxy(api: Api, ports_of: PortSource) -> Callable[[Request], Reply]:
    """services/proxy and pods/proxy: the request goes on to a ready pod's process, as the API
    server's proxy subresource does ("Access services running on clusters", manual proxy URLs,
    https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/)."""
    turn = itertools.count()

    def handle(req: Request) -> Reply:
        ports = _backend_ports(api, req, ports_of)
        if not ports:
            message = f'no endpoints available for service "{req.name}"'
            raise ApiError(503, "ServiceUnavailable", message)
        query = urllib.parse.urlencode(req.query)
        url = f"http://127.0.0.1:{ports[next(turn) % len(ports)]}/{req.tail}" + (f"?{query}" if query else "")
        data = json.dumps(req.body).encode() if req.body is not None else None
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, data=data, method=req.method), timeout=10
            ) as answer:
                return Reply(
                    answer.status, answer.read(), content_type=answer.headers.get("Content-Type", "text/plain")
                )
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read(), content_type=exc.headers.get("Content-Type", "text/plain"))
        except OSError as exc:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from exc

    return handle


def _trim(text: str, query: dict[str, str]) -> str:
    """``tailLines`` (the last N lines) and ``limitBytes`` (the first N bytes), as PodLogOptions define."""
    if query.get("tailLines", "").isdigit():
        lines = text.splitlines(keepends=True)
        text = "".join(lines[len(lines) - int(query["tailLines"]) :]) if int(query["tailLines"]) else ""
    if query.get("limitBytes", "").isdigit():
        text = text.encode()[: int(query["limitBytes"])].decode(errors="ignore")
    return text


def install(api: Api, logs: LogSource, ports_of: PortSource) -> None:
    api.special[("selfsubjectaccessreviews", "")] = _review("SelfSubjectAccessReview", authz.access_review)
    api.special[("selfsubjectrulesreviews", "")] = _review("SelfSubjectRulesReview", authz.rules_review)
    api.special[("selfsubjectreviews", "")] = _review("SelfSubjectReview", authz.self_review, "authentication.k8s.io")
    api.special[("*", "scale")] = _scale(api)
    api.special[("pods", "log")] = _logs(api, logs)
    api.special[("pods", "proxy")] = _proxy(api, ports_of)
    api.special[("services", "proxy")] = _proxy(api, ports_of)
