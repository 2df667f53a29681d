"""Validation of the config types with pydantic, imported only when a file is not in the cache.

pydantic validates the stdlib dataclasses of :mod:`bmad.config.base` directly: unknown keys are refused
(``__pydantic_config__``), each field's constraints come from its :func:`~bmad.config.base.setting`.
:func:`model_schema` adds what pydantic does not read from a dataclass: each field's ``check``, the
range of ports and timeouts (by field name, wherever they are), and the type's
``before_validation`` / ``after_validation``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core import core_schema

__all__ = ["ValidationError", "model_schema", "validate"]

T = TypeVar("T")
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def validate(model: type[T], data: object) -> T:
    """``data`` validated as a ``model``; raises pydantic's ValidationError (each error with its field path)."""
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    result: T = adapter.validate_python(data)
    return result


def model_schema(model: Any, source: Any, handler: Any) -> core_schema.CoreSchema:
    """pydantic's schema of the dataclass ``model`` with its field checks and its own validation."""
    schema = handler(source)
    if schema["type"] != "dataclass":
        raise TypeError(f"{model.__name__}: expected a dataclass schema, got {schema['type']}")
    fields = {field.name: field for field in dataclasses.fields(model)}
    for argument in schema["schema"]["fields"]:
        _add_checks(argument, fields[argument["name"]])
    ref = schema.pop("ref", None)  # the wrapped schema is the one other types refer to
    before = core_schema.no_info_before_validator_function(model.before_validation, schema)
    return core_schema.no_info_after_validator_function(_after(model), before, ref=ref)


def _after(model: Any) -> Any:
    def check(value: Any) -> Any:
        model.after_validation(value)
        return value

    return check


def _add_checks(argument: Any, field: dataclasses.Field[Any]) -> None:
    """Wrap the field's value schema (inside its default: defaults are not validated) with its checks."""
    holder = argument["schema"] if argument["schema"]["type"] == "default" else argument
    ranged = _range_check(field.name)
    if ranged is not None:
        holder["schema"] = core_schema.no_info_after_validator_function(ranged, holder["schema"])
    check = field.metadata.get("check")
    if check is not None:
        holder["schema"] = core_schema.no_info_after_validator_function(check, holder["schema"])


def _range_check(name: str) -> Any:
    """Ports are 1-65535 and timeouts positive, wherever they are (refused at load, with file:line)."""
    if name == "port" or name.endswith("_port"):
        return _port
    if "timeout" in name and name.endswith("_seconds"):
        return _timeout
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _port(value: Any) -> Any:
    if _is_number(value) and not 1 <= value <= 65535:
        raise ValueError("a port is between 1 and 65535")
    return value


def _timeout(value: Any) -> Any:
    if _is_number(value) and not value > 0:
        raise ValueError("a timeout is more than 0 seconds")
    return value
