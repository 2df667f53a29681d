"""Reading JUnit XML reports (pytest, JUnit, go-junit-report ...): counts and failing test names."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import field
from pathlib import Path

from bmad.core.datatypes import datatype

MAX_JUNIT_BYTES = 50 * 1024 * 1024


@datatype
class JUnitSummary:
    """The counts and failing test names of BUILD's test reports, as the suite check records them."""

    total: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float | None = None
    failing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.total - self.failed - self.errors - self.skipped

    @property
    def executed(self) -> int:
        return self.total - self.skipped

    def as_dict(self, *, max_names: int = 50) -> dict[str, object]:
        return {
            "total": self.total,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "seconds": self.seconds,
            "failing": self.failing[:max_names],
            "failing_truncated": max(0, len(self.failing) - max_names),
        }


def parse_junit_text(text: str) -> JUnitSummary:
    """Counts from ``<testcase>`` elements (the ``tests=`` attributes are not trusted), failing names as class::name."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - see module import note
    except ET.ParseError as exc:
        raise ValueError(f"not valid JUnit XML: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ValueError(f"not a JUnit report: root element is <{root.tag}>")
    summary = JUnitSummary()
    for case in root.iter("testcase"):
        summary.total += 1
        name = case.get("name", "?")
        classname = case.get("classname")
        full = f"{classname}::{name}" if classname else name
        if case.find("failure") is not None:
            summary.failed += 1
            summary.failing.append(full)
        elif case.find("error") is not None:
            summary.errors += 1
            summary.failing.append(full)
        elif case.find("skipped") is not None:
            summary.skipped += 1
    times = [root.get("time")] if root.get("time") else [s.get("time") for s in root.iter("testsuite")]
    try:
        values = [float(t) for t in times if t]
        summary.seconds = round(sum(values), 3) if values else None
    except ValueError:
        summary.seconds = None
    return summary


def parse_junit_file(path: Path) -> JUnitSummary:
    size = path.stat().st_size
    if size > MAX_JUNIT_BYTES:
        raise ValueError(f"JUnit report is {size} bytes; the limit is {MAX_JUNIT_BYTES}")
    return parse_junit_text(path.read_text(encoding="utf-8", errors="replace"))
