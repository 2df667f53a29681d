"""Subresources and review kinds: ``/scale``, ``pods/log``, access and rules reviews.

* scale: an ``autoscaling/v1`` Scale over ``spec.replicas`` (https://kubernetes.io/docs/reference/
  kubernetes-api/workload-resources/deployment-v1/ "replace scale of the specified Deployment");
* pods/log: the text of one container's log, ``previous=true`` for the last terminated instance
  (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/ "read log");
  a pod with several containers needs ``container`` (400 as the kubelet's answer);
* SelfSubjectAccessReview / SelfSubjectRulesReview: created, never stored ("Checking API access",
  https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import authz, patch
from .errors import ApiError, bad_request, not_found
from .rest import JSON_PATCH, MERGE, STRATEGIC, Api, Reply, Request
from .writes import Write

Obj = dict[str, Any]
LogSource = Callable[[str, str, str, bool], str | None]


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
        return Reply(200, text, content_type="text/plain")

    return handle


def install(api: Api, logs: LogSource) -> None:
    api.special[("selfsubjectaccessreviews", "")] = _review("SelfSubjectAccessReview", authz.access_review)
    api.special[("selfsubjectrulesreviews", "")] = _review("SelfSubjectRulesReview", authz.rules_review)
    api.special[("selfsubjectreviews", "")] = _review("SelfSubjectReview", authz.self_review, "authentication.k8s.io")
    api.special[("*", "scale")] = _scale(api)
    api.special[("pods", "log")] = _logs(api, logs)
