"""Load ``bmad.yaml`` with line tracking.

The YAML is composed into nodes first, so every value keeps the line and column it came
from; the plain data is then validated by the pydantic models. Every problem — unreadable
file, YAML syntax, duplicate key, unknown key, wrong type — becomes a
:class:`~bmad.core.errors.ConfigError` naming file:line:column, the field path and what
was expected. Unknown keys get a "did you mean".
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from bmad.config.cache import cache_key, cached_config, store_config
from bmad.config.models import BmadConfig
from bmad.core.errors import ConfigError

if TYPE_CHECKING:
    from bmad.config.yaml_marks import Marks, Path_

MAX_CONFIG_BYTES = 5 * 1024 * 1024


def load_config(path: str | Path) -> BmadConfig:
    """Read and validate a bmad.yaml file. Raises ConfigError on any problem."""
    file = Path(path)
    text = read_text_file(file, what="config file")
    key = cache_key(text)
    config = cached_config(file, key)
    if config is None:
        config = load_config_text(text, source=str(file))
        store_config(file, key, config)
    return config.model_copy(update={"source_path": str(file.resolve())})


def read_text_file(file: Path, *, what: str = "file", max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """Read a UTF-8 text file, turning every way it can fail into a ConfigError."""
    name = str(file)
    try:
        if file.is_dir():
            raise ConfigError(f"{what} is a directory, not a file", file=name)
        size = file.stat().st_size
        if size > max_bytes:
            raise ConfigError(f"{what} is {size} bytes; the limit is {max_bytes}", file=name)
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", file=name, hint="run 'bmad init' to write a starter bmad.yaml") from None
    except PermissionError:
        raise ConfigError(f"{what} cannot be read: permission denied", file=name) from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise ConfigError(f"not a text file (binary content at byte {nul})", file=name, line=line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"not valid UTF-8 text (byte {exc.start})", file=name, line=line) from None


def load_config_text(text: str, *, source: str = "bmad.yaml") -> BmadConfig:
    from bmad.config.yaml_marks import parse_yaml_with_marks  # PyYAML only when the cache did not answer

    data, marks = parse_yaml_with_marks(text, source=source)
    if data is None:
        raise ConfigError(
            "the file is empty: expected a mapping with at least 'service' and 'environments'",
            file=source,
            line=1,
            column=1,
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping at the top level, found {_yaml_type(data)}", file=source, line=1, column=1
        )
    try:
        return BmadConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_to_config_error(exc, marks, source=source, model=BmadConfig) from None


def validation_to_config_error(
    exc: ValidationError, marks: Marks, *, source: str, model: type[BaseModel]
) -> ConfigError:
    errors = [_one_error(err, marks, source, model) for err in exc.errors(include_url=False)]
    first = errors[0]
    if len(errors) > 1:
        rest = "\n".join(f"  {e.message}" for e in errors[1:6])
        more = f"\n  ... and {len(errors) - 6} more" if len(errors) > 6 else ""
        first.hint = ((first.hint + "\n") if first.hint else "") + f"{len(errors) - 1} more problem(s):\n{rest}{more}"
    return first


def _one_error(err: Any, marks: Marks, source: str, model: type[BaseModel]) -> ConfigError:
    from bmad.config.yaml_marks import dotted

    loc: Path_ = tuple(part for part in err["loc"] if not _is_union_tag(part))
    kind = err["type"]
    hint = None
    if kind == "extra_forbidden":
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
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "missing":
        return "required field is missing"
    value = err.get("input")
    if err["type"].endswith("_type") or err["type"].endswith("_parsing"):
        return f"{msg[0].lower()}{msg[1:]} (found {_yaml_type(value)})"
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


def _fields_at(model: type[BaseModel], loc: Path_) -> set[str]:
    current: Any = model
    for part in loc:
        current = _descend(current, part)
        if current is None:
            return set()
    for candidate in _models_in(current):
        return set(candidate.model_fields)
    return set()


def _descend(annotation: Any, part: str | int) -> Any:
    for candidate in _models_in(annotation):
        field = candidate.model_fields.get(str(part))
        if field is not None:
            return field.annotation
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


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


def _yaml_type(value: Any) -> str:
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
