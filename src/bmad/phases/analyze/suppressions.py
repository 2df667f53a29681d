"""Suppressions: annotations on objects and scoped entries in bmad.yaml, each with a reason.

* Annotation: ``bmad.dev/ignore: SC-014,SC-017`` plus ``bmad.dev/ignore-reason: <why>`` on the
  object (or on its pod template). Without a reason the annotation is not honoured and is
  reported.
* Config: ``analyze.suppressions`` entries scoped by check (``*`` = all), namespace, kind, name,
  container (shell-style globs), each with ``reason`` and ``expires``. Expired entries are not
  applied and are reported.
* ``--no-suppressions`` (``ctx.options.no_suppressions``) turns both off for strict CI.

A suppressed failure stays in the results, marked with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from datetime import date
from fnmatch import fnmatchcase
from typing import Any

from bmad.config.analyze import Suppression
from bmad.core.datatypes import datatype
from bmad.phases.analyze.manifests import ManifestObject

IGNORE_ANNOTATION = "bmad.dev/ignore"
REASON_ANNOTATION = "bmad.dev/ignore-reason"


def _glob(pattern: str | None, value: str | None) -> bool:
    return pattern is None or fnmatchcase(value or "", pattern)


@datatype
class SuppressionSet:
    entries: Sequence[Suppression] = ()
    today: date = field(default_factory=date.today)
    enabled: bool = True
    notes: list[str] = field(default_factory=list)  # expired entries, annotations without reasons
    _noted: set[str] = field(default_factory=set)
    _heard: list[str] | None = field(default=None, repr=False, compare=False)  # see hearing()

    def __post_init__(self) -> None:
        for entry in self.entries:
            if entry.expires < self.today:
                self._note(
                    f"config suppression of {entry.check} ({self._scope(entry)}) expired on "
                    f"{entry.expires.isoformat()} and is not applied"
                )

    def _note(self, text: str) -> None:
        if self._heard is not None:
            self._heard.append(text)
        if text not in self._noted:
            self._noted.add(text)
            self.notes.append(text)

    def hearing(self) -> list[str]:
        """A new list that each note raised from now on is added to, also one noted before, until the
        next call: what one catalog entry raised, in whichever process and order it was evaluated."""
        self._heard = []
        return self._heard

    def renote(self, base: Sequence[str], heard: Sequence[str]) -> None:
        """The notes made anew: ``base`` (those before any entry was evaluated), then ``heard`` in order,
        each once: what one process evaluating every entry in catalog order notes."""
        self._heard = None
        self.notes = []
        self._noted = set()
        for text in (*base, *heard):
            self._note(text)

    @staticmethod
    def _scope(entry: Suppression) -> str:
        parts = [
            f"{k}={v}"
            for k, v in (
                ("namespace", entry.namespace),
                ("kind", entry.kind),
                ("name", entry.name),
                ("container", entry.container),
            )
            if v
        ]
        return ", ".join(parts) or "everywhere"

    def reason_for(self, check_id: str, obj: ManifestObject | None, container: str | None) -> str | None:
        """The suppression reason that applies, or None."""
        if not self.enabled:
            return None
        if obj is not None:
            reason = self._annotation(check_id, obj)
            if reason is not None:
                return reason
        for entry in self.entries:
            if entry.expires < self.today:
                continue
            if entry.check not in ("*", check_id):
                continue
            if obj is None:
                if entry.namespace or entry.kind or entry.name or entry.container:
                    continue
            elif not (
                _glob(entry.namespace, obj.namespace)
                and _glob(entry.kind, obj.kind)
                and _glob(entry.name, obj.name)
                and (entry.container is None or (container is not None and fnmatchcase(container, entry.container)))
            ):
                continue
            return f"{entry.reason} (bmad.yaml, expires {entry.expires.isoformat()})"
        return None

    def _annotation(self, check_id: str, obj: ManifestObject) -> str | None:
        for source in (obj.annotations, obj.pod_annotations if obj.pod_spec is not None else {}):
            raw: Any = source.get(IGNORE_ANNOTATION)
            if not raw:
                continue
            ids = {part.strip() for part in str(raw).split(",") if part.strip()}
            if check_id not in ids:
                continue
            reason = source.get(REASON_ANNOTATION)
            if not reason or not str(reason).strip():
                self._note(
                    f"{obj.kind}/{obj.name}: annotation {IGNORE_ANNOTATION} without {REASON_ANNOTATION} is not honoured"
                )
                continue
            return f"{reason} (annotation on {obj.kind}/{obj.name})"
        return None
