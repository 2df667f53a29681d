"""A small SARIF 2.1.0 builder (usable by GitHub code scanning).

Pure data, no I/O besides :meth:`SarifLog.write`. Used by ANALYZE (readiness checks,
manifest validation) and BUILD (vulnerability findings).

Typical use::

    log = SarifLog()
    run = log.run("bmad", version="1.0", docs_page="checks.md")
    run.rule("ANA-SEC-001", name="RunAsNonRoot", short="Containers run as non-root",
             help_text="Set securityContext.runAsNonRoot: true", level="error",
             tags=["security"], properties={"category": "Security & Compliance"})
    run.result("ANA-SEC-001", level="error", message="container app runs as root",
               file="k8s/deployment.yaml", line=12,
               logical=[logical_location("prod/Deployment/web/app", kind="resource")])
    text = log.to_json()

Levels follow SARIF: ``error``, ``warning``, ``note``, ``none``. Results that are
suppressed keep their level and carry a ``suppressions`` entry (``kind: external``
with the justification), so code scanning shows them as dismissed rather than hiding them.
File paths are written as relative URIs (``uriBaseId: %SRCROOT%``) when relative, so
code scanning can place them on the repository's files.

``security-severity`` (GitHub's 0-10 score) is written only on security rules, those tagged
``security``: a YAML parse error is not a 9.5 security alert. Every run's ``informationUri`` is a
page of the project's docs (:func:`docs_uri`), named here only: writers give the page, never a URI.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from bmad.core.datatypes import datatype

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = ("error", "warning", "note", "none")
# Severity words used across bmad mapped onto SARIF levels and GitHub's security-severity score.
SEVERITY_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


# The project's docs, unless the installed package names its own ("Documentation" Project-URL).
DOCS_URI = "https://github.com/bmad/bmad/tree/main/docs"
SECURITY_TAG = "security"


def docs_uri(page: str = "") -> str:
    """Absolute URI of the project's docs (``page`` appended, e.g. ``checks.md``)."""
    base = DOCS_URI
    for entry in _project_urls():
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation" and url.strip():
            base = url.strip()
    return f"{base.rstrip('/')}/{page}" if page else base


@cache
def _project_urls() -> tuple[str, ...]:
    """The ``Project-URL`` values of the installed bmad's metadata (none when it is not installed).

    Read from the first ``bmad-*.dist-info/METADATA`` on ``sys.path``, the file importlib.metadata
    would find, without importing it (and its e-mail parser, ~15 ms of every ANALYZE); any other kind
    of install is asked through importlib.metadata.
    """
    for entry in sys.path:
        for info in _dist_infos(entry or "."):
            try:
                return _header_values(info.joinpath("METADATA").read_text(encoding="utf-8"), "Project-URL")
            except OSError:
                continue
    from importlib import metadata

    try:
        return tuple(metadata.metadata("bmad").get_all("Project-URL") or [])
    except metadata.PackageNotFoundError:
        return ()


def _dist_infos(folder: str) -> list[Path]:
    """The ``bmad-*.dist-info`` entries of ``folder``, sorted (as ``Path.glob`` finds them; one listing
    of a site-packages with its hundreds of entries, without glob's pattern machinery)."""
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e in entries if e.name.startswith("bmad-") and e.name.endswith(".dist-info")]
    except OSError:  # not a folder (a zip on sys.path), or gone
        return []
    return [Path(folder, name) for name in sorted(names)]


def _header_values(text: str, name: str) -> tuple[str, ...]:
    """The values of header ``name`` in a core-metadata file's header block (folded lines joined)."""
    values: list[str] = []
    current: str | None = None
    for line in text.splitlines():
        if not line.strip():
            break  # the body (the long description) starts
        if line[0] in " \t":
            if current is not None:
                values[-1] += "\n" + line  # as the e-mail parser keeps a folded value
            continue
        key, _, value = line.partition(":")
        current = key if key.strip().lower() == name.lower() else None
        if current is not None:
            values.append(value.lstrip())
    return tuple(values)


def level_for_severity(severity: str) -> str:
    """SARIF level for a bmad/scanner severity word (critical/high/medium/low/info); unknown -> warning."""
    return SEVERITY_LEVEL.get(severity.lower(), "warning")


def logical_location(fully_qualified_name: str, *, kind: str = "resource", name: str | None = None) -> dict[str, Any]:
    """A SARIF logicalLocation, e.g. ``namespace/Kind/name/container``."""
    return {
        "fullyQualifiedName": fully_qualified_name,
        "name": name if name is not None else fully_qualified_name.rsplit("/", 1)[-1],
        "kind": kind,
    }


def _artifact_uri(file: str, base_id: str | None = None) -> dict[str, Any]:
    return dict(_artifact_location(str(file), base_id))  # a copy: the caller's to change


@functools.lru_cache(maxsize=4096)
def _artifact_location(file: str, base_id: str | None) -> dict[str, Any]:
    """The artifactLocation of ``file``: computed once per file, a run's results share a few files."""
    path = file.replace("\\", "/")
    if base_id is not None and "://" not in path:  # a path inside another root (an image's file system)
        return {"uri": str(PurePosixPath(path.lstrip("/") or ".")), "uriBaseId": base_id}
    if path.startswith("/") or "://" in path:
        uri = path if "://" in path else Path(path).as_uri()
        return {"uri": uri}
    return {"uri": str(PurePosixPath(path)), "uriBaseId": "%SRCROOT%"}


@datatype
class SarifRun:
    """One tool run: its rules (reportingDescriptors) and results."""

    tool: str
    version: str | None = None
    docs_page: str = ""  # the docs page describing the run's rules, e.g. checks.md
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    # each rule's index in ``rules`` (its ruleIndex), rebuilt when ``rules`` has grown
    positions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def rule(
        self,
        rule_id: str,
        *,
        name: str | None = None,
        short: str,
        full: str | None = None,
        help_text: str | None = None,
        help_uri: str | None = None,
        level: str = "warning",
        tags: Sequence[str] = (),
        properties: Mapping[str, Any] | None = None,
        security_severity: str | None = None,
    ) -> None:
        """Declare a rule once (later calls with the same id are ignored).

        ``security_severity`` is kept only when ``tags`` include ``security``.
        """
        if rule_id in self.rules:
            return
        if level not in LEVELS:
            raise ValueError(f"SARIF level must be one of {LEVELS}, got {level!r}")
        descriptor: dict[str, Any] = {
            "id": rule_id,
            "name": name or rule_id,
            "shortDescription": {"text": short},
            "fullDescription": {"text": full or short},
            "defaultConfiguration": {"level": level},
        }
        if help_text:
            descriptor["help"] = {"text": help_text}
        if help_uri:
            descriptor["helpUri"] = help_uri
        props: dict[str, Any] = dict(properties or {})
        if tags:
            props["tags"] = list(tags)
        if security_severity is not None and SECURITY_TAG in (tag.lower() for tag in tags):
            props["security-severity"] = security_severity  # GitHub scores security rules only
        if props:
            descriptor["properties"] = props
        self.rules[rule_id] = descriptor

    def rule_index(self, rule_id: str) -> int:
        """The position of ``rule_id`` in ``rules`` (a dict lookup, not a scan of every rule)."""
        index = self.positions.get(rule_id)
        if index is None or len(self.positions) != len(self.rules):
            self.positions = {known: position for position, known in enumerate(self.rules)}
            index = self.positions[rule_id]
        return index

    def result(
        self,
        rule_id: str,
        *,
        message: str,
        level: str = "warning",
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        end_line: int | None = None,
        logical: Iterable[Mapping[str, Any]] = (),
        suppression: str | None = None,
        fingerprint: str | None = None,
        properties: Mapping[str, Any] | None = None,
        file_base: str | None = None,
    ) -> None:
        """Add a result. ``file``/``line`` give the physicalLocation region (lines are 1-based);
        ``file_base`` names the root ``file`` is relative to when it is not the repository (e.g. ``IMAGEROOT``).

        ``suppression`` (a justification) marks the result as suppressed but keeps it in the log.
        """
        if level not in LEVELS:
            raise ValueError(f"SARIF level must be one of {LEVELS}, got {level!r}")
        if rule_id not in self.rules:
            self.rule(rule_id, short=rule_id, level=level)
        result: dict[str, Any] = {
            "ruleId": rule_id,
            "ruleIndex": self.rule_index(rule_id),
            "level": level,
            "message": {"text": message},
        }
        location: dict[str, Any] = {}
        if file:
            physical: dict[str, Any] = {"artifactLocation": _artifact_uri(file, file_base)}
            region: dict[str, Any] = {}
            if line is not None and line >= 1:
                region["startLine"] = int(line)
                if column is not None and column >= 1:
                    region["startColumn"] = int(column)
                if end_line is not None and end_line >= line:
                    region["endLine"] = int(end_line)
            else:
                # GitHub code scanning requires a region; point at the top of the file.
                region["startLine"] = 1
            physical["region"] = region
            location["physicalLocation"] = physical
        logical_list = [dict(item) for item in logical]
        if logical_list:
            location["logicalLocations"] = logical_list
        if location:
            result["locations"] = [location]
        if suppression is not None:
            result["suppressions"] = [{"kind": "external", "justification": suppression}]
        if fingerprint:
            result["partialFingerprints"] = {"primaryLocationLineHash": fingerprint}
        if properties:
            result["properties"] = dict(properties)
        self.results.append(result)

    def to_dict(self) -> dict[str, Any]:
        driver: dict[str, Any] = {"name": self.tool, "rules": list(self.rules.values())}
        if self.version:
            driver["version"] = self.version
            driver["semanticVersion"] = self.version
        driver["informationUri"] = docs_uri(self.docs_page)
        return {
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",
            "results": list(self.results),
        }


@datatype
class SarifLog:
    """A SARIF log: one or more runs."""

    runs: list[SarifRun] = field(default_factory=list)

    def run(self, tool: str, *, version: str | None = None, docs_page: str = "") -> SarifRun:
        """A new run; its ``informationUri`` is ``docs_page`` of the project's docs."""
        new = SarifRun(tool=tool, version=version, docs_page=docs_page)
        self.runs.append(new)
        return new

    def to_dict(self) -> dict[str, Any]:
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run.to_dict() for run in self.runs]}

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        tmp.replace(target)
        return target
