"""A small JUnit XML writer (the dialect CI systems read: testsuites/testsuite/testcase).

Each test case has a status: ``pass``, ``fail``, ``error`` or ``skip``. A failure carries a
message and a body (e.g. the fix); skipped cases carry their reason. Pure data apart from
:meth:`JUnitReport.write`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import field
from pathlib import Path

from bmad.core.datatypes import datatype

STATUSES = ("pass", "fail", "error", "skip")


@datatype(frozen=True)
class JUnitCase:
    name: str
    classname: str
    status: str = "pass"
    message: str = ""
    body: str = ""
    time: float = 0.0
    file: str | None = None
    line: int | None = None
    properties: tuple[tuple[str, str], ...] = ()


@datatype
class JUnitSuite:
    name: str
    cases: list[JUnitCase] = field(default_factory=list)

    def add(self, case: JUnitCase) -> None:
        if case.status not in STATUSES:
            raise ValueError(f"JUnit status must be one of {STATUSES}, got {case.status!r}")
        self.cases.append(case)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for case in self.cases:
            counts[case.status] += 1
        return counts


# XML 1.0 forbids the control characters but tab, newline and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(text: str) -> str:
    # XML 1.0 forbids most control characters; drop them rather than emit an unreadable file.
    return _CONTROL.sub("", text)


@datatype
class JUnitReport:
    name: str
    suites: list[JUnitSuite] = field(default_factory=list)

    def suite(self, name: str) -> JUnitSuite:
        for existing in self.suites:
            if existing.name == name:
                return existing
        created = JUnitSuite(name)
        self.suites.append(created)
        return created

    def to_element(self) -> ET.Element:
        root = ET.Element("testsuites", name=_clean(self.name))
        totals = dict.fromkeys(STATUSES, 0)
        total_time = 0.0
        for suite in self.suites:
            counts = suite.counts()
            suite_time = sum(case.time for case in suite.cases)
            total_time += suite_time
            for key, value in counts.items():
                totals[key] += value
            element = ET.SubElement(
                root,
                "testsuite",
                name=_clean(suite.name),
                tests=str(len(suite.cases)),
                failures=str(counts["fail"]),
                errors=str(counts["error"]),
                skipped=str(counts["skip"]),
                time=f"{suite_time:.3f}",
            )
            for case in suite.cases:
                attrs = {"name": _clean(case.name), "classname": _clean(case.classname), "time": f"{case.time:.3f}"}
                if case.file:
                    attrs["file"] = _clean(case.file)
                if case.line is not None:
                    attrs["line"] = str(case.line)
                node = ET.SubElement(element, "testcase", attrs)
                if case.properties:
                    props = ET.SubElement(node, "properties")
                    for prop_name, prop_value in case.properties:
                        ET.SubElement(props, "property", name=_clean(prop_name), value=_clean(prop_value))
                if case.status == "fail":
                    child = ET.SubElement(node, "failure", message=_clean(case.message), type="failure")
                    child.text = _clean(case.body)
                elif case.status == "error":
                    child = ET.SubElement(node, "error", message=_clean(case.message), type="error")
                    child.text = _clean(case.body)
                elif case.status == "skip":
                    ET.SubElement(node, "skipped", message=_clean(case.message))
        root.set("tests", str(sum(totals.values())))
        root.set("failures", str(totals["fail"]))
        root.set("errors", str(totals["error"]))
        root.set("skipped", str(totals["skip"]))
        root.set("time", f"{total_time:.3f}")
        return root

    def to_xml(self) -> str:
        element = self.to_element()
        ET.indent(element)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="unicode") + "\n"

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.to_xml(), encoding="utf-8")
        tmp.replace(target)
        return target
