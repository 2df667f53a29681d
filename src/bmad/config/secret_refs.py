"""Every secret reference of ``bmad.yaml``, resolved and registered for redaction before a phase runs.

A secret a test suite prints or a command echoes is masked in every file bmad writes only if its
value is known to :mod:`bmad.core.redact` by then, so the engine resolves them all up front:
the top-level ``secrets:``, the build, measure, analyze, deploy, reports and ledger sections, and
the chosen environment's section (other environments' references belong to runs against them).
A reference that cannot be resolved stops the run there, naming the field and ``file:line``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from bmad.config.base import Model, SecretRef
from bmad.config.models import BmadConfig
from bmad.core.errors import ConfigError

FieldPath = tuple[str | int, ...]


def secret_refs(model: object, path: FieldPath = ()) -> Iterator[tuple[FieldPath, SecretRef]]:
    """Each :class:`SecretRef` inside ``model`` (models, mappings, lists), with its field path."""
    if isinstance(model, SecretRef):
        yield path, model
    elif isinstance(model, Model):
        for field in dataclasses.fields(model):  # type: ignore[arg-type]
            yield from secret_refs(getattr(model, field.name), (*path, field.name))
    elif isinstance(model, dict):
        for key, value in model.items():
            yield from secret_refs(value, (*path, str(key)))
    elif isinstance(model, list | tuple):
        for index, value in enumerate(model):
            yield from secret_refs(value, (*path, index))


def run_secret_refs(config: BmadConfig, environment: str) -> Iterator[tuple[FieldPath, SecretRef]]:
    """The references a run against ``environment`` may resolve."""
    for path, ref in secret_refs(config):
        if path[:1] != ("environments",) or path[1:2] == (environment,):
            yield path, ref


def resolve_run_secrets(config: BmadConfig, environment: str) -> int:
    """Resolve (and so register) every reference of a run; returns how many were resolved."""
    count = 0
    for path, ref in run_secret_refs(config, environment):
        resolve_at(config, path, ref)
        count += 1
    return count


def resolve_at(config: BmadConfig, path: FieldPath, ref: SecretRef) -> str:
    """The value of the reference at ``path`` of ``config``; an error names the file, line and field."""
    try:
        return ref.resolve(config.base_dir)
    except ConfigError as exc:
        raise _located(config, path, exc) from None


def _located(config: BmadConfig, path: FieldPath, exc: ConfigError) -> ConfigError:
    """``exc`` again, naming the config file, the line of the reference and its field."""
    source = config.source_path or "bmad.yaml"
    line, column = _mark_of(Path(source), path) if config.source_path else (None, None)
    return ConfigError(exc.reason, file=source, line=line, column=column, field=_dotted(path), hint=exc.hint)


def _mark_of(file: Path, path: FieldPath) -> tuple[int | None, int | None]:
    from bmad.config.yaml_marks import parse_yaml_with_marks
    from bmad.core.files import read_text_file

    try:
        _, marks = parse_yaml_with_marks(read_text_file(file), source=str(file))
    except ConfigError:
        return None, None
    for end in range(len(path), 0, -1):
        if path[:end] in marks:
            return marks[path[:end]]
    return None, None


def _dotted(path: FieldPath) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
