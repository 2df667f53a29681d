"""Discovery (``/api``, ``/apis``, group versions), ``/version`` and OpenAPI v3.

Discovery documents as "API Concepts" and "Kubernetes API: discovery"
(https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api): APIVersions,
APIGroupList, APIGroup and APIResourceList with ``namespaced``, ``verbs``, ``shortNames``,
``categories`` and subresources (``deployments/status``, ``deployments/scale``, ``pods/log``).
Aggregated discovery ("Aggregated discovery", same page; apidiscovery.k8s.io/v2): ``/api`` and
``/apis`` answer one APIGroupDiscoveryList with every group, version and resource when the Accept
header asks for ``as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io``, with that media type as
the answer's Content-Type (which is how client-go tells the two forms apart).

OpenAPI v3 (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v3): ``/openapi/v3``
lists one document per group version; each document lists the resource paths and their
operations with ``x-kubernetes-group-version-kind`` and the ``fieldValidation`` / ``dryRun``
query parameters (what kubectl's query-param verifier looks for before it sends ``fieldValidation``).
Schemas of the kinds are not served (see docs/contributing.md).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .resources import Registry, ResourceType

Obj = dict[str, Any]
VERSION = {
    "major": "1",
    "minor": "37",
    "gitVersion": "v1.37.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "proxy": ["create", "delete", "get", "patch", "update"],
}


def api_versions() -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }


def _group(name: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(registry: Registry) -> Obj:
    groups = [_group(g, v) for g, v in registry.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, name: str) -> Obj | None:
    versions = registry.group_versions().get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _subresource(rt: ResourceType, sub: str) -> Obj:
    entry: Obj = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced, "kind": rt.kind}
    if sub == "scale":
        entry.update({"group": "autoscaling", "version": "v1", "kind": "Scale"})
    if sub == "eviction":
        entry.update({"group": "policy", "version": "v1", "kind": "Eviction"})
    entry["verbs"] = _SUBRESOURCE_VERBS.get(sub, ["create"])
    return entry


def resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    served = registry.in_group_version(group, version)
    if not served:
        return None
    resources: list[Obj] = []
    for rt in served:
        entry: Obj = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
            "storageVersionHash": hashlib.sha256(rt.plural.encode()).hexdigest()[:11],
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        resources += [_subresource(rt, sub) for sub in rt.subresources]
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root(registry: Registry) -> Obj:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            path = _gv_path(group, version)
            digest = hashlib.sha256(repr(registry.in_group_version(group, version)).encode()).hexdigest()[:16]
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def _query(name: str) -> Obj:
    return {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}


def _operation(rt: ResourceType, action: str, params: list[str]) -> Obj:
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    return {
        "operationId": f"{action}{rt.kind}",
        "parameters": [_query(p) for p in params],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }


def openapi_document(registry: Registry, group: str, version: str) -> Obj | None:
    served = registry.in_group_version(group, version)
    if not served:
        return None
    write_params = ["dryRun", "fieldManager", "fieldValidation"]
    paths: Obj = {}
    for rt in served:
        base = "/" + _gv_path(group, version) + ("/namespaces/{namespace}" if rt.namespaced else "") + f"/{rt.plural}"
        paths[base] = {
            "get": _operation(rt, "list", ["labelSelector", "watch"]),
            "post": _operation(rt, "post", write_params),
        }
        paths[base + "/{name}"] = {
            "get": _operation(rt, "get", []),
            "put": _operation(rt, "put", write_params),
            "patch": _operation(rt, "patch", [*write_params, "force"]),
            "delete": _operation(rt, "delete", ["dryRun"]),
        }
    info = {"title": "Kubernetes", "version": VERSION["gitVersion"]}
    return {"openapi": "3.0.0", "info": info, "paths": paths, "components": {"schemas": {}}}


AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    return "as=APIGroupDiscoveryList" in accept and "v=v2" in accept


def _gvk(rt: ResourceType, sub: str = "") -> Obj:
    if sub == "scale":
        return {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    if sub == "eviction":
        return {"group": "policy", "version": "v1", "kind": "Eviction"}
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _aggregated_resource(rt: ResourceType) -> Obj:
    entry: Obj = {
        "resource": rt.plural,
        "responseKind": _gvk(rt),
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [
            {"subresource": sub, "responseKind": _gvk(rt, sub), "verbs": _SUBRESOURCE_VERBS.get(sub, ["create"])}
            for sub in rt.subresources
        ]
    return entry


def aggregated(registry: Registry, core: bool) -> Obj:
    """The APIGroupDiscoveryList of ``/api`` (core) or ``/apis`` (every named group)."""
    items = []
    for group, versions in registry.group_versions().items():
        if (group == "") != core:
            continue
        listed = [
            {
                "version": v,
                "resources": [_aggregated_resource(rt) for rt in registry.in_group_version(group, v)],
                "freshness": "Current",
            }
            for v in versions
        ]
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": listed})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
