"""Unknown-field detection for built-in kinds (server-side field validation, ``fieldValidation``).

"Field validation" (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation):
``Strict`` fails the request on an unknown field, ``Warn`` (the server's default) answers with a
``Warning`` per field, ``Ignore`` drops them silently. Non-apply writes report
``<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding error: unknown field "<path>"``;
server-side apply reports ``<path>: field not declared in schema`` (structured-merge-diff).
The schemas are the built-in types' OpenAPI as packaged by kubernetes-validate (already a runtime
dependency of bmad); kinds it does not know (custom resources) are not checked.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from .errors import ApiError
from .resources import ResourceType

Obj = dict[str, Any]
SCHEMA_VERSION = "v1.37.0-local-strict"


def _folder() -> Any:
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema").joinpath(SCHEMA_VERSION)


@functools.cache
def _definitions() -> dict[str, Any]:
    return dict(json.loads(_folder().joinpath("_definitions.json").read_text())["$defs"])


@functools.cache
def kind_schema(group: str, version: str, kind: str) -> Obj | None:
    prefix = group.split(".")[0]
    name = f"{kind.lower()}-{prefix}-{version}.json" if group else f"{kind.lower()}-{version}.json"
    path = _folder().joinpath(name)
    return dict(json.loads(path.read_text())) if path.is_file() else None


def _resolve(schema: Obj) -> Obj:
    while "$ref" in schema:
        schema = _definitions()[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def unknown_fields(value: Any, schema: Obj, path: str = "") -> list[str]:
    """Dotted paths (``spec.template.spec.containers[0].bar``) of fields the schema does not declare."""
    schema = _resolve(schema)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in schema["properties"]:
                found += unknown_fields(item, schema["properties"][key], where)
            elif schema.get("additionalProperties") is False:
                found.append(where)
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            found += unknown_fields(item, schema["additionalProperties"], f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{path}[{index}]")
    return found


def check(rt: ResourceType, obj: Obj, mode: str, *, applying: bool = False) -> list[str]:
    """Warnings for ``Warn``; raise 400 for ``Strict``; nothing for ``Ignore`` or unknown kinds."""
    schema = kind_schema(rt.group, rt.version, rt.kind)
    if schema is None or mode == "Ignore":
        return []
    unknown = unknown_fields(obj, schema)
    if not unknown:
        return []
    if mode != "Strict":
        return [f'unknown field "{path}"' for path in unknown]
    if applying:
        meta = obj.get("metadata") or {}
        where = f"{meta.get('namespace', '')}/{meta.get('name', '')}; {rt.api_version}, Kind={rt.kind}"
        listed = ", ".join(f".{p}: field not declared in schema" for p in unknown)
        raise ApiError(400, "BadRequest", f"failed to create typed patch object ({where}): {listed}")
    listed = ", ".join(f'unknown field "{p}"' for p in unknown)
    message = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: {listed}'
    raise ApiError(400, "BadRequest", message)
