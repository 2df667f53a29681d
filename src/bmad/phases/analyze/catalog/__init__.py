"""The readiness catalog: one YAML data file per category, validated when first loaded.

``testing.yaml``, ``security.yaml``, ``monitoring.yaml``, ``infrastructure.yaml`` and
``reliability.yaml`` hold the checks (ids ``TQ``, ``SC``, ``MO``, ``IS``, ``RE``); their shape is
``schema.CheckData``. ``docs/checks.md`` is generated from them (``bmad checklist --markdown``).
A run reads the entries from a cache made by the first full validation (``compiled``);
:func:`loaded_checks` (the entries with their test cases) always validates the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from bmad.phases.analyze.catalog.compiled import compiled_entries
from bmad.phases.analyze.catalog.data import CatalogError, LoadedCheck
from bmad.phases.analyze.catalog.markdown import render_markdown
from bmad.phases.analyze.readiness_data import CatalogEntry

__all__ = ["CatalogError", "LoadedCheck", "catalog", "catalog_by_id", "loaded_checks", "render_markdown"]


@cache
def loaded_checks() -> tuple[LoadedCheck, ...]:
    """Every check with its test cases and file:line, in catalog order."""
    from bmad.phases.analyze.catalog.loader import load_all

    return tuple(load_all())


@cache
def catalog() -> tuple[CatalogEntry, ...]:
    """The whole catalog in id order."""
    return compiled_entries()


def catalog_by_id() -> Mapping[str, CatalogEntry]:
    return {entry.id: entry for entry in catalog()}
