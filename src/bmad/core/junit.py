"""A small JUnit XML writer (the dialect CI systems read: testsuites/testsuite/testcase).

Each test case has a status: ``pass``, ``fail``, ``error`` or ``skip``. A failure carries a
message and a body (e.g. the fix); skipped cases carry their reason. Pure data apart from
:meth:`JUnitReport.write`.
"""

from __future__ import annotations

import re
from dataclasses import field
from pathlib import Path

from bmad.core.datatypes import datatype
from bmad.core.escapes import xml_attribute, xml_text

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

    def to_xml(self) -> str:
        """The report as XML, laid out as ``ElementTree.indent`` and ``tostring`` lay it out (the same
        bytes; written here, so that ANALYZE does not import xml.etree: ~1.5 ms, and its tree for a
        thousand objects' findings)."""
        totals = dict.fromkeys(STATUSES, 0)
        total_time = 0.0
        suites: list[_Node] = []
        for suite in self.suites:
            counts = suite.counts()
            suite_time = sum(case.time for case in suite.cases)
            total_time += suite_time
            for key, value in counts.items():
                totals[key] += value
            attributes = [
                ("name", _clean(suite.name)),
                ("tests", str(len(suite.cases))),
                ("failures", str(counts["fail"])),
                ("errors", str(counts["error"])),
                ("skipped", str(counts["skip"])),
                ("time", f"{suite_time:.3f}"),
            ]
            suites.append(_Node("testsuite", attributes, "", [_case_node(case) for case in suite.cases]))
        root = [("name", _clean(self.name)), ("tests", str(sum(totals.values())))]
        root += [("failures", str(totals["fail"])), ("errors", str(totals["error"]))]
        root += [("skipped", str(totals["skip"])), ("time", f"{total_time:.3f}")]
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        _write(_Node("testsuites", root, "", suites), 0, out)
        out.append("\n")
        return "".join(out)

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.to_xml(), encoding="utf-8")
        tmp.replace(target)
        return target


class _Node:
    """An element to write: its tag, attributes (in order), text and children."""

    __slots__ = ("attributes", "children", "tag", "text")

    def __init__(self, tag: str, attributes: list[tuple[str, str]], text: str, children: list[_Node]) -> None:
        self.tag, self.attributes, self.text, self.children = tag, attributes, text, children


def _case_node(case: JUnitCase) -> _Node:
    attributes = [("name", _clean(case.name)), ("classname", _clean(case.classname)), ("time", f"{case.time:.3f}")]
    if case.file:
        attributes.append(("file", _clean(case.file)))
    if case.line is not None:
        attributes.append(("line", str(case.line)))
    children: list[_Node] = []
    if case.properties:
        listed = [_Node("property", [("name", _clean(n)), ("value", _clean(v))], "", []) for n, v in case.properties]
        children.append(_Node("properties", [], "", listed))
    if case.status in ("fail", "error"):
        kind = "failure" if case.status == "fail" else "error"
        children.append(_Node(kind, [("message", _clean(case.message)), ("type", kind)], _clean(case.body), []))
    elif case.status == "skip":
        children.append(_Node("skipped", [("message", _clean(case.message))], "", []))
    return _Node("testcase", attributes, "", children)


def _write(node: _Node, level: int, out: list[str]) -> None:
    """``node`` as ``ElementTree.tostring`` writes it after ``ElementTree.indent`` (two spaces a level)."""
    out.append("<" + node.tag)
    for name, value in node.attributes:
        out.append(f' {name}="{xml_attribute(value)}"')
    if not node.children:
        out.append(f">{xml_text(node.text)}</{node.tag}>" if node.text else " />")
        return
    inner = "\n" + "  " * (level + 1)
    out.append(">")
    for child in node.children:
        out.append(inner)
        _write(child, level + 1, out)
    out.append("\n" + "  " * level + f"</{node.tag}>")
