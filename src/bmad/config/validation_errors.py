"""A pydantic ValidationError of ``bmad.yaml`` as a ConfigError naming file:line:column and the field.

Unknown keys get a "did you mean" (or the list of allowed keys). Imported only on a cache miss.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bmad.config.base import Model
from bmad.core.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from bmad.config.yaml_marks import Marks, Path_


def validation_to_config_error(exc: ValidationError, marks: Marks, *, source: str, model: type[Model]) -> ConfigError:
    errors = [_one_error(err, marks, source, model) for err in exc.errors(include_url=False)]
    first = errors[0]
    if len(errors) > 1:
        rest = "\n".join(f"  {e.message}" for e in errors[1:6])
        more = f"\n  ... and {len(errors) - 6} more" if len(errors) > 6 else ""
        first.hint = ((first.hint + "\n") if first.hint else "") + f"{len(errors) - 1} more problem(s):\n{rest}{more}"
    return first


def _one_error(err: Any, marks: Marks, source: str, model: type[Model]) -> ConfigError:
    from bmad.config.yaml_marks import dotted

    loc: Path_ = tuple(part for part in err["loc"] if not _is_union_tag(part))
    kind = err["type"]
    hint = None
    if kind == "unexpected_keyword_argument":  # a key that is no field of the config type
        import difflib

        key = str(loc[-1])
        allowed = sorted(_fields_at(model, loc[:-1]))
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        reason = f"unknown key {key!r}"
        if close:
            reason += f"; did you mean {close[0]!r}?"
        elif allowed:
            hint = "allowed keys here: " + ", ".join(allowed)
        line, column = marks.get((*loc, "__key__"), _nearest_mark(marks, loc))
    elif loc[-1:] == ("[key]",):  # a mapping key failed its own validation: point at the key
        loc = loc[:-1]
        reason = _reason(err)
        line, column = marks.get((*loc, "__key__"), _nearest_mark(marks, loc))
    else:
        reason = _reason(err)
        line, column = _nearest_mark(marks, loc)
    return ConfigError(reason, file=source, line=line, column=column, field=dotted(loc) or None, hint=hint)


def _reason(err: Any) -> str:
    msg: str = err["msg"]
    if (
        err["type"] == "dataclass_type"
    ):  # the wording pydantic gives models, as before the config types were dataclasses
        msg = f"Input should be a valid dictionary or instance of {err['ctx']['class_name']}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "missing":
        return "required field is missing"
    value = err.get("input")
    if err["type"].endswith("_type") or err["type"].endswith("_parsing"):
        return f"{msg[0].lower()}{msg[1:]} (found {yaml_type(value)})"
    return msg[0].lower() + msg[1:] if msg else "invalid value"


def _nearest_mark(marks: Marks, loc: Path_) -> tuple[int, int]:
    for end in range(len(loc), -1, -1):
        mark = marks.get(loc[:end])
        if mark:
            return mark
    return (1, 1)


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the member type name (e.g. 'SecretRef', 'str') into loc for unions.
    return isinstance(part, str) and (part[:1].isupper() or part in {"str", "int", "float", "bool", "list", "dict"})


def _fields_at(model: type[Model], loc: Path_) -> set[str]:
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return set()
    for candidate in _models_in(current):
        return {field.name for field in dataclasses.fields(candidate)}  # type: ignore[arg-type]
    return set()


def _descend(annotation: Any, part: str | int) -> Any:
    for candidate in _models_in(annotation):
        annotation = typing.get_type_hints(candidate).get(str(part))
        if annotation is not None:
            return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (dict, typing.Mapping) and len(args) == 2:
        return args[1]
    if origin in (list, tuple) and args:
        return args[0]
    for arg in args:
        if typing.get_origin(arg) in (dict, list):
            return _descend(arg, part)
    return None


def _models_in(annotation: Any) -> Iterator[type[Model]]:
    if isinstance(annotation, type) and issubclass(annotation, Model):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


def yaml_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
