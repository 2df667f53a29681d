"""Attestations: what only a person can confirm (item, who, when, note, expiry).

The file is YAML, either a list or ``{attestations: [...]}``::

    - item: SC-053            # a catalog id or a risk mitigation id
      who: alice@example.org
      when: 2026-11-20
      note: JWT auth covered by tests/auth/test_jwt.py, reviewed in PR 412
      expires: 2027-02-20   # (or "expiry:")
"""

from __future__ import annotations

from dataclasses import field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError

MAX_ATTESTATION_BYTES = 2 * 1024 * 1024


@datatype(frozen=True)
class Attestation:
    item: str
    who: str
    when: date
    note: str = ""
    expires: date | None = None
    line: int | None = None

    def valid_on(self, day: date) -> bool:
        return self.when <= day and (self.expires is None or day <= self.expires)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "who": self.who,
            "when": self.when.isoformat(),
            "note": self.note,
            "expires": self.expires.isoformat() if self.expires else None,
        }


@datatype
class Attestations:
    entries: list[Attestation] = field(default_factory=list)
    source: str | None = None

    def for_item(self, item: str) -> list[Attestation]:
        return [a for a in self.entries if a.item == item]

    def check(self, item: str, day: date) -> tuple[bool, str]:
        """(valid, message) for ``item`` on ``day``."""
        found = self.for_item(item)
        if not found:
            where = self.source or "the attestations file"
            return False, f"not attested: add an entry 'item: {item}' (who, when, note, expires) to {where}"
        valid = [a for a in found if a.valid_on(day)]
        if valid:
            best = max(valid, key=lambda a: a.when)
            until = f", valid until {best.expires.isoformat()}" if best.expires else ""
            return True, f"attested by {best.who} on {best.when.isoformat()}{until}"
        latest = max(found, key=lambda a: a.when)
        if latest.when > day:
            return False, f"attestation by {latest.who} is dated in the future ({latest.when.isoformat()})"
        assert latest.expires is not None
        return False, f"attestation by {latest.who} expired on {latest.expires.isoformat()}: confirm again"


def _as_date(value: Any, *, field_name: str, source: str, line: int | None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ConfigError(f"'{field_name}' must be a date (YYYY-MM-DD)", file=source, line=line, field=field_name)


def parse_attestations(data: Any, *, source: str, lines: dict[int, int] | None = None) -> Attestations:
    if data is None:
        return Attestations(source=source)
    if isinstance(data, dict):
        data = data.get("attestations", [])
    if not isinstance(data, list):
        raise ConfigError("expected a list of attestations", file=source, line=1)
    entries = []
    for index, raw in enumerate(data):
        line = (lines or {}).get(index)
        if not isinstance(raw, dict):
            raise ConfigError(f"attestation #{index + 1} must be a mapping", file=source, line=line)
        if "expiry" in raw and "expires" not in raw:
            raw = {**raw, "expires": raw["expiry"]}
            del raw["expiry"]
        unknown = set(raw) - {"item", "who", "when", "note", "expires"}
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}", file=source, line=line)
        for required in ("item", "who", "when"):
            if not raw.get(required):
                raise ConfigError(f"attestation #{index + 1} needs '{required}'", file=source, line=line)
        entries.append(
            Attestation(
                item=str(raw["item"]),
                who=str(raw["who"]),
                when=_as_date(raw["when"], field_name="when", source=source, line=line),
                note=str(raw.get("note") or ""),
                expires=_as_date(raw["expires"], field_name="expires", source=source, line=line)
                if raw.get("expires")
                else None,
                line=line,
            )
        )
    return Attestations(entries, source=source)


def load_attestations(path: Path) -> Attestations:
    """Read the attestations file; a missing file is an empty set (every item 'not attested')."""
    import yaml

    from bmad.core.files import read_text_file
    from bmad.core.yaml_limits import MAX_DEPTH, check_flow_depth, yaml_error
    from bmad.core.yaml_nodes import CheckedPySafeLoader, CheckedSafeLoader

    if not path.exists():
        return Attestations(source=str(path))
    text = read_text_file(path, what="attestations file", max_bytes=MAX_ATTESTATION_BYTES)
    check_flow_depth(text, source=str(path))
    try:
        try:
            node, data = _parse(text, str(path), CheckedSafeLoader)
        except yaml.YAMLError:  # the pure-Python parser's own words for the mistake
            node, data = _parse(text, str(path), CheckedPySafeLoader)
    except RecursionError:
        raise ConfigError(f"YAML nests deeper than {MAX_DEPTH} levels", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise yaml_error(exc, str(path)) from None
    lines: dict[int, int] = {}
    seq = node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "attestations":
                seq = value
    if isinstance(seq, yaml.SequenceNode):
        lines = {i: item.start_mark.line + 1 for i, item in enumerate(seq.value)}
    return parse_attestations(data, source=str(path), lines=lines)


def _parse(text: str, source: str, loader_class: Any) -> tuple[Any, Any]:
    """The document's node graph (checked for alias bombs and deep nesting before it is expanded)
    and its data, from one parse (libyaml's C parser where present: the same nodes, ~20x faster)."""
    from bmad.core.yaml_limits import check_node_graph

    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_node_graph(node, source=source)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()
