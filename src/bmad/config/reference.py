"""docs/config.md, rendered from the models' field descriptions (the same text ``bmad init`` writes),
so the reference cannot drift from the code: ``python -m bmad.config.reference > docs/config.md``."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterator
from typing import Any

from bmad.config.base import Model
from bmad.config.models import BmadConfig

HEADER = """# bmad.yaml reference

Generated from the field descriptions in `src/bmad/config/` by `python -m bmad.config.reference`;
a test fails when this file differs from what the code renders. Every key not listed is an error
(named with its file:line and a "did you mean"). Secrets are written only as references:
`{env: NAME}` or `{file: path}`. Environments may share settings through a YAML anchor and merge key
(`prod: {<<: *dev, risk: high}`): the keys a mapping sets itself win over those it merges, and of
`<<: [*a, *b]` the first mapping wins (https://yaml.org/type/merge.html); a key set twice in one
mapping is an error. The file may be a pipe (`-c <(generate-config)`); it is read up to 5 MiB, and a
device (`/dev/zero`) is refused. A `{file: path}` secret is read up to 1 MiB, as UTF-8 text.
"""


def _models_in(annotation: Any) -> Iterator[type[Model]]:
    if isinstance(annotation, type) and issubclass(annotation, Model):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__ if not issubclass(annotation, Model) else "mapping"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args if a is not type(None)) + (
            " (optional)" if type(None) in args else ""
        )
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[1])}" if len(args) == 2 else "mapping"
    return str(annotation).replace("typing.", "")


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
        return "required"
    value = field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
    if isinstance(value, Model):
        return ""
    if isinstance(value, dict | list) and not value:
        return "empty"
    try:
        return f"`{json.dumps(value, default=str)}`"
    except TypeError:
        return f"`{value}`"


def _rows(model: type[Model], prefix: str, seen: set[type[Model]]) -> Iterator[str]:
    hints = typing.get_type_hints(model)
    for field in dataclasses.fields(model):  # type: ignore[arg-type]
        key = f"{prefix}{field.name}"
        annotation = hints[field.name]
        description = field.metadata.get("description", "").replace("|", "\\|").replace("\n", " ")
        yield f"| `{key}` | {_type_name(annotation).replace('|', '/')} | {_default(field)} | {description} |"
        for sub in _models_in(annotation):
            if sub in seen:
                continue
            origin = typing.get_origin(annotation)
            child = f"{key}.<name>." if origin is dict else f"{key}."
            yield from _rows(sub, child, seen | {sub})


def render_markdown() -> str:
    lines = [HEADER, "| key | type | default | what it is |", "|---|---|---|---|"]
    lines += list(_rows(BmadConfig, "", {BmadConfig}))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
