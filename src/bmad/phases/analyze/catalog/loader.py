"""Load the catalog data files into :class:`CatalogEntry` objects, failing with file:line.

The YAML is composed into nodes first (libyaml's C parser when present) so that a validation
error's location (entry 12, ``cases.fail[0].set``) can be traced back to the line it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from bmad.phases.analyze.catalog.data import CatalogError, LoadedCheck, data_file_name, data_texts
from bmad.phases.analyze.catalog.schema import CheckData
from bmad.phases.analyze.evaluators import EVALUATORS
from bmad.phases.analyze.readiness_data import CatalogEntry, Category

_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CHECKS = TypeAdapter(list[CheckData])
_PREFIXES = {
    Category.TESTING: "TQ",
    Category.SECURITY: "SC",
    Category.MONITORING: "MO",
    Category.INFRASTRUCTURE: "IS",
    Category.RELIABILITY: "RE",
}


def load_all(texts: dict[Category, str] | None = None) -> list[LoadedCheck]:
    """Every data file (``texts``: as read by :func:`data_texts`) in category order; ids unique across files."""
    checks: list[LoadedCheck] = []
    for category, text in (texts or data_texts()).items():
        checks += load_text(text, data_file_name(category), category)
    seen: dict[str, str] = {}
    for check in checks:
        if check.entry.id in seen:
            raise CatalogError(f"{check.where}: id {check.entry.id} is already used at {seen[check.entry.id]}")
        seen[check.entry.id] = check.where
    return checks


def load_text(text: str, file: str, category: Category) -> list[LoadedCheck]:
    """One data file's checks; :class:`CatalogError` names the file and line of any mistake."""
    root = _compose(text, file)
    try:
        data = _construct(root)
        checks = _CHECKS.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        line = _line_of(root, first["loc"])
        where = ".".join(str(part) for part in first["loc"])
        raise CatalogError(f"{file}:{line}: {where}: {first['msg']}") from None
    entry_nodes = root.value if isinstance(root, yaml.SequenceNode) else []
    return [
        _loaded(check, category, file, node.start_mark.line + 1)
        for check, node in zip(checks, entry_nodes, strict=True)
    ]


def _compose(text: str, file: str) -> yaml.Node:
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CatalogError(f"{file}:{line}: not valid YAML: {error}") from None
    finally:
        loader.dispose()
    if node is None:
        return yaml.SequenceNode("tag:yaml.org,2002:seq", [])
    return node


def _construct(node: yaml.Node) -> Any:
    loader = _YamlLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _line_of(node: yaml.Node, loc: Sequence[int | str]) -> int:
    """The line of the deepest node along a validation error's location."""
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _child(node: yaml.Node, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                found: yaml.Node = value
                return found
    return None


def _loaded(check: CheckData, category: Category, file: str, line: int) -> LoadedCheck:
    where = f"{file}:{line}"
    if not check.id.startswith(_PREFIXES[category] + "-"):
        raise CatalogError(f"{where}: {check.id} does not belong in {file} (ids there start {_PREFIXES[category]}-)")
    registered = EVALUATORS.get(check.evaluator)
    if registered is None:
        raise CatalogError(f"{where}: {check.id} names unknown evaluator {check.evaluator!r}")
    entry = CatalogEntry(
        id=check.id,
        name=check.name,
        title=check.title,
        category=category,
        severity=check.severity,
        scope=registered.scope,
        evaluator=check.evaluator,
        rationale=check.rationale,
        fix=check.fix,
        applies_to=tuple(check.applies_to),
        params=dict(check.params),
        guide=check.guide,
    )
    return LoadedCheck(entry, check.cases, file, line)
