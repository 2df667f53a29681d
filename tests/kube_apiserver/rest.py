"""Resource requests: the verbs of "API Concepts" on the served resources, authorized first.

Verbs from the request (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go):
GET -> get / list / watch, POST -> create, PUT -> update, PATCH -> patch, DELETE -> delete /
deletecollection. Patch types as patch.py and apply.py describe; ``dryRun`` accepts only ``All``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import apply, authz, patch, schema, selection, tables
from .errors import ApiError, bad_request, method_not_allowed, not_found, unsupported_media_type
from .resources import Registry, ResourceType
from .storage import Key, Store
from .writes import Outcome, Write, Writer, random_suffix

Obj = dict[str, Any]
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True)
class Request:
    """A parsed resource request."""

    method: str
    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    query: dict[str, str]
    body: Any
    content_type: str
    accept: str
    identity: authz.Identity
    user_agent: str = ""
    tail: str = ""

    @property
    def verb(self) -> str:
        if self.method == "GET":
            if self.name:
                return "get"
            return "watch" if self.query.get("watch") in ("1", "true") else "list"
        if self.method == "DELETE":
            return "delete" if self.name else "deletecollection"
        return _VERBS.get(self.method, self.method.lower())

    @property
    def dry_run(self) -> bool:
        # DELETE carries DeleteOptions in its body ({"dryRun": ["All"]}), the other verbs a query parameter
        options = self.body if self.method == "DELETE" and isinstance(self.body, dict) else {}
        value = self.query.get("dryRun", "") or ",".join(options.get("dryRun") or [])
        if value not in ("", "All"):
            raise bad_request(f'Invalid dry run value: dryRun: Unsupported value: "{value}": supported values: "All"')
        return value == "All"

    @property
    def manager(self) -> str:
        # default manager: the user agent up to the first "/" (fieldmanager's default)
        return self.query.get("fieldManager") or self.user_agent.split("/", 1)[0] or "unknown"

    def key(self, name: str | None = None) -> Key:
        return Key(self.rt.group, self.rt.plural, self.namespace if self.rt.namespaced else "", name or self.name)


@dataclass
class Reply:
    """What to answer: status code, body (JSON-able or text), warnings, or a watch to stream."""

    code: int
    body: Any
    warnings: list[str] = field(default_factory=list)
    watch: Request | None = None
    content_type: str = "application/json"
    retry_after: int = 0


SpecialHandler = Callable[[Request], Reply]


class Api:
    """Dispatches resource requests; ``special`` handles subresources and review kinds."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store, self.registry = store, registry
        self.writer = Writer(store)
        self.special: dict[tuple[str, str], SpecialHandler] = {}

    def handle(self, req: Request) -> Reply:
        sub = req.subresource if req.subresource not in ("", "status") else ""
        authz.authorize(req.identity, self._attributes(req))
        handler = self.special.get((req.rt.plural, sub)) or self.special.get(("*", sub))
        if handler is not None:
            return handler(req)
        if sub:
            raise not_found(req.rt.group, req.rt.plural, req.name)
        return self._dispatch(req)

    @staticmethod
    def _attributes(req: Request) -> authz.Attributes:
        return authz.Attributes(
            req.verb, req.rt.group, req.rt.plural, req.namespace if req.rt.namespaced else "", req.name, req.subresource
        )

    def _dispatch(self, req: Request) -> Reply:
        verb = req.verb
        if verb not in req.rt.verbs:
            raise method_not_allowed("the server does not allow this method on the requested resource")
        if verb == "get":
            return self.get(req)
        if verb == "list":
            return self.list(req)
        if verb == "watch":
            return Reply(200, None, watch=req)
        if verb == "create":
            return self.create(req)
        if verb == "update":
            return self.update(req)
        if verb == "patch":
            return self.patch(req)
        if verb == "delete":
            return self.delete(req)
        return self.delete_collection(req)

    def get(self, req: Request) -> Reply:
        obj = self.store.get(req.key())
        if obj is None:
            raise not_found(req.rt.group, req.rt.plural, req.name)
        if tables.wants_table(req.accept):
            return Reply(200, tables.table(req.rt.kind, [obj], obj["metadata"]["resourceVersion"]))
        return Reply(200, obj)

    @staticmethod
    def filters(req: Request) -> list[selection.Test]:
        """The request's label and field selectors as tests on objects."""
        tests = []
        if req.query.get("labelSelector"):
            tests.append(selection.label_selector(req.query["labelSelector"]))
        if req.query.get("fieldSelector"):
            tests.append(selection.field_selector(req.query["fieldSelector"]))
        return tests

    def matching(self, req: Request) -> tuple[list[Obj], int]:
        items, rv = self.store.list_objects(req.rt.group, req.rt.plural, req.namespace if req.rt.namespaced else "")
        tests = self.filters(req)
        return [o for o in items if all(t(o) for t in tests)], rv

    def list(self, req: Request) -> Reply:
        items, rv = self.matching(req)
        if tables.wants_table(req.accept):
            return Reply(200, tables.table(req.rt.kind, items, str(rv)))
        body = {
            "kind": f"{req.rt.kind}List",
            "apiVersion": req.rt.api_version,
            "metadata": {"resourceVersion": str(rv)},
        }
        for item in items:
            item.pop("apiVersion", None), item.pop("kind", None)
        return Reply(200, {**body, "items": items})

    def _body(self, req: Request) -> Obj:
        if not isinstance(req.body, dict):
            raise bad_request("the body of the request could not be decoded as an object")
        body = copy.deepcopy(req.body)
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if (api_version and api_version != req.rt.api_version) or (kind and kind != req.rt.kind):
            expected = req.rt.api_version
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({expected})"
            )
        return body

    def create(self, req: Request) -> Reply:
        body = self._body(req)
        warnings = schema.check(req.rt, body, req.query.get("fieldValidation", "Warn"))
        meta = body.setdefault("metadata", {})
        if req.rt.namespaced and meta.get("namespace") not in (None, "", req.namespace):
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        write = Write(req.rt, req.key(str(meta.get("name", ""))), body, req.manager, dry_run=req.dry_run)
        return _reply(self.writer.create(write), 201, warnings)

    def update(self, req: Request) -> Reply:
        body = self._body(req)
        warnings = schema.check(req.rt, body, req.query.get("fieldValidation", "Warn"))
        rv = str((body.get("metadata") or {}).get("resourceVersion", ""))
        write = Write(req.rt, req.key(), body, req.manager, req.subresource, req.dry_run)
        return _reply(self.writer.update(write, rv), 200, warnings)

    def patch(self, req: Request) -> Reply:
        content_type = req.content_type.split(";")[0].strip()
        live = self.store.get(req.key())
        if content_type == APPLY:
            return self._apply(req, live)
        if live is None:
            raise not_found(req.rt.group, req.rt.plural, req.name)
        if content_type == MERGE:
            new = patch.merge_patch(live, req.body)
        elif content_type == JSON_PATCH:
            new = patch.json_patch(live, req.body)
        elif content_type == STRATEGIC and req.rt.group in BUILTIN_GROUPS:
            new = patch.strategic_merge(live, req.body)
        else:
            raise unsupported_media_type(content_type)
        warnings = schema.check(req.rt, new, req.query.get("fieldValidation", "Warn"))
        write = Write(req.rt, req.key(), new, req.manager, req.subresource, req.dry_run)
        return _reply(self.writer.update(write), 200, warnings)

    def _apply(self, req: Request, live: Obj | None) -> Reply:
        if not req.query.get("fieldManager"):
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
            )
        config = req.body if isinstance(req.body, dict) else {}
        warnings = schema.check(req.rt, config, req.query.get("fieldValidation", "Warn"), applying=True)
        request = apply.ApplyRequest(
            config,
            req.manager,
            req.query.get("force") in ("true", "1"),
            req.rt.group,
            req.rt.plural,
            with_status=req.subresource == "status",
        )
        new = apply.apply(live, request)
        write = Write(req.rt, req.key(), new, req.manager, req.subresource, req.dry_run, managed_by_apply=True)
        if live is None:
            return _reply(self.writer.create(write), 201, warnings)
        return _reply(self.writer.update(write), 200, warnings)

    def delete(self, req: Request) -> Reply:
        options = req.body if isinstance(req.body, dict) else {}
        policy = req.query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
        current = self.store.get(req.key())
        if policy == "Orphan" and current is not None and not req.dry_run:
            self.writer.orphan(current["metadata"].get("uid", ""))  # before the owner goes: no collection race
        grace = req.query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        obj = self.writer.delete(req.rt, req.key(), req.dry_run, None if grace is None else int(grace))
        if obj["metadata"].get("deletionTimestamp") and self.store.get(req.key()) is not None:
            return Reply(200, obj)
        details = {"name": req.name, "group": req.rt.group, "kind": req.rt.plural, "uid": obj["metadata"].get("uid")}
        return Reply(
            200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        )

    def delete_collection(self, req: Request) -> Reply:
        items, _ = self.matching(req)
        for item in items:
            self.writer.delete(req.rt, req.key(item["metadata"]["name"]), req.dry_run)
        return self.list(req)


BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "coordination.k8s.io",
        "networking.k8s.io",
        "policy",
        "autoscaling",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
        "authorization.k8s.io",
    }
)


def _reply(outcome: Outcome, created_code: int, warnings: list[str] | None = None) -> Reply:
    return Reply(created_code if outcome.created else 200, outcome.obj, [*(warnings or []), *outcome.warnings])


def parse_body(raw: bytes, content_type: str) -> Any:
    """JSON or YAML request bodies, as the apiserver's serializers accept them."""
    if not raw:
        return None
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"the body of the request could not be decoded: {exc}") from exc
