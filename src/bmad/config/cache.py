"""A cache of validated configs, so that an unchanged ``bmad.yaml`` is not validated on every command.

Validating imports pydantic and builds its schemas of every config type on each command. After a
full validation the result is kept as JSON (never pickle: the cache must not become code) in
``$XDG_CACHE_HOME/bmad/config/`` (``~/.cache`` when unset), one owner-only file per key, named after
the key: the same bytes answer wherever the file is (a new checkout, a CI workspace), because the
validated config holds nothing of its path (``source_path`` is set by the loader, relative paths and
secret files are resolved later against ``BmadConfig.base_dir``). The key covers the bytes, bmad's
config code, pydantic and the environment variables that validation reads; a load under the same
key rebuilds the config's dataclasses from that JSON, field by field as their annotations say,
without importing pydantic. Any change misses, so bad input is still reported by the full
validation, at file:line. A cache file that cannot be read, is not ours, or does not fit the models
is ignored. The folder keeps the :data:`KEPT_CONFIGS` most recently used files (older ones are
removed when a new one is written).

The cache is not under the state dir because the state dir is itself a value of the config.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any

from bmad.config.base import Model, config_json
from bmad.config.models import BmadConfig
from bmad.core.digest import sha256
from bmad.core.files import keep_newest, read_keyed_json, user_cache_dir, write_atomic

_FORMAT = "bmad.config-cache/1"
# environment variables read while validating (default factories); their values are part of the key
_VALIDATION_ENV = ("BMAD_PROMETHEUS_FILE_SD_DIR",)
_PLAIN = (str, int, float, bool)
KEPT_CONFIGS = 64  # cache files kept: one per (config bytes, code, environment) recently used


class _NotCached(Exception):
    """The cached JSON does not fit the models: validate instead."""


def cache_file(key: str) -> Path:
    """Where the config validated under ``key`` (:func:`cache_key`) is kept, whatever file it was read from."""
    return user_cache_dir() / "config" / f"{key[:32]}.json"


def cache_key(text: str) -> str:
    """The digest of what a validation result depends on: the text, bmad's config code, pydantic, the environment."""
    digest = sha256(f"{_FORMAT}\0pydantic {_pydantic_version()}\0".encode())
    digest.update(text.encode("utf-8"))
    for module in sorted(Path(__file__).parent.glob("*.py")):
        stat = module.stat()
        digest.update(f"\0{module.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for name in _VALIDATION_ENV:
        digest.update(f"\0{name}={os.environ.get(name)!r}".encode())
    return digest.hexdigest()


def _pydantic_version() -> str:
    """Which pydantic is installed, without importing it (what the cache avoids) or reading the
    installed packages' metadata (~30 ms): the size and time of its ``version.py``, which each release rewrites."""
    spec = importlib.util.find_spec("pydantic")
    if spec is None or spec.origin is None:
        return "none"
    try:
        stat = (Path(spec.origin).parent / "version.py").stat()
    except OSError:
        return "unknown"
    return f"{spec.origin}:{stat.st_size}:{stat.st_mtime_ns}"


def cached_config(key: str) -> BmadConfig | None:
    """The config cached under ``key``, without ``source_path``; None when there is none that fits."""
    path = cache_file(key)
    entry = read_keyed_json(path, key)
    if entry is None:
        return None
    try:
        config = typing.cast(BmadConfig, _rebuild(BmadConfig, entry.get("config")))
    except (ValueError, _NotCached):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept when the folder is pruned
    return config


def store_config(key: str, config: BmadConfig) -> None:
    """Keep ``config`` (just validated) under ``key``; a cache that cannot be written is skipped."""
    entry = {"key": key, "config": config_json(config)}
    path = cache_file(key)
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(entry, separators=(",", ":")), 0o600, durable=False)
        keep_newest(path.parent, "*.json", KEPT_CONFIGS)


def _rebuild(annotation: Any, value: Any) -> Any:
    """``value`` (from JSON) as the Python value of a field typed ``annotation``, without validation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _rebuild(args[0], value)
    if origin is typing.Union or origin is types.UnionType:
        return None if value is None else _rebuild_union(args, value)
    if origin is typing.Literal:
        return _checked(value, value in args)
    if isinstance(annotation, type) and issubclass(annotation, Model):
        return _rebuild_model(annotation, value)
    if origin is list:
        return [_rebuild(args[0], item) for item in _checked(value, isinstance(value, list))]
    if origin is dict:
        items = _checked(value, isinstance(value, dict)).items()
        return {_rebuild(args[0], k): _rebuild(args[1], v) for k, v in items}
    if annotation is date:
        return date.fromisoformat(_checked(value, isinstance(value, str)))
    if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if annotation in _PLAIN:
        return _checked(value, type(value) is annotation)
    raise _NotCached(f"no rebuild for {annotation!r}")


def _rebuild_union(members: tuple[Any, ...], value: Any) -> Any:
    candidates = [m for m in members if m is not type(None)]
    if len(candidates) != 1:
        raise _NotCached("a union of several types")
    return _rebuild(candidates[0], value)


def _rebuild_model(model: type[Model], value: Any) -> Model:
    data = _checked(value, isinstance(value, dict))
    fields = _stored_fields(model)
    if set(data) != set(fields):
        raise _NotCached(f"{model.__name__}: the cached fields differ")
    return model(**{name: _rebuild(annotation, data[name]) for name, annotation in fields.items()})


_STORED_FIELDS: dict[type[Model], dict[str, Any]] = {}


def _stored_fields(model: type[Model]) -> dict[str, Any]:
    """The annotation of each field of ``model`` that the cache keeps (excluded ones are set by the loader).

    The config modules do not postpone annotations, so ``field.type`` is the type itself (a string
    would not be rebuilt: every load would miss, which the tests of the cache would show).
    """
    stored = _STORED_FIELDS.get(model)
    if stored is None:
        fields = dataclasses.fields(model)  # type: ignore[arg-type]
        stored = _STORED_FIELDS[model] = {f.name: f.type for f in fields if not f.metadata.get("exclude")}
    return stored


def _checked(value: Any, fits: bool) -> Any:
    if not fits:
        raise _NotCached(f"unexpected cached value {value!r}")
    return value
