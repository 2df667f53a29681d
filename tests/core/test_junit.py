"""JUnit XML: what XML 1.0 cannot hold is dropped, everything else is kept."""

from __future__ import annotations

from bmad.core.junit import JUnitCase, JUnitReport


def test_control_characters_are_dropped_and_tabs_newlines_and_other_text_kept() -> None:
    """Guards the one-regex cleaning (before: a generator over every character of every text)."""
    report = JUnitReport("bmad \x00\x1b")
    report.suite("analyze").add(
        JUnitCase(name="a\x07b", classname="c\x0bd", status="fail", message="m\x1f ≥ é", body="x\ty\nz\r\x0c")
    )
    xml = report.to_xml()
    assert 'name="bmad "' in xml and 'name="ab"' in xml and 'classname="cd"' in xml
    assert "m ≥ é" in xml and "x\ty\nz" in xml
    assert not any(ord(ch) < 0x20 and ch not in "\t\n\r" for ch in xml)


def _reference_xml(report: JUnitReport) -> str:
    """What ElementTree writes for the report (the writer before session 12 built this tree)."""
    import xml.etree.ElementTree as ET

    from bmad.core.junit import _clean

    root = ET.Element("testsuites", name=_clean(report.name))
    totals = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
    total = 0.0
    for suite in report.suites:
        counts = suite.counts()
        spent = sum(case.time for case in suite.cases)
        total += spent
        for key, value in counts.items():
            totals[key] += value
        element = ET.SubElement(
            root, "testsuite", name=_clean(suite.name), tests=str(len(suite.cases)), failures=str(counts["fail"]),
            errors=str(counts["error"]), skipped=str(counts["skip"]), time=f"{spent:.3f}",
        )  # fmt: skip
        for case in suite.cases:
            attrs = {"name": _clean(case.name), "classname": _clean(case.classname), "time": f"{case.time:.3f}"}
            if case.file:
                attrs["file"] = _clean(case.file)
            if case.line is not None:
                attrs["line"] = str(case.line)
            node = ET.SubElement(element, "testcase", attrs)
            if case.properties:
                props = ET.SubElement(node, "properties")
                for name, value in case.properties:
                    ET.SubElement(props, "property", name=_clean(name), value=_clean(value))
            if case.status in ("fail", "error"):
                kind = "failure" if case.status == "fail" else "error"
                ET.SubElement(node, kind, message=_clean(case.message), type=kind).text = _clean(case.body)
            elif case.status == "skip":
                ET.SubElement(node, "skipped", message=_clean(case.message))
    for key, value in (("tests", sum(totals.values())), ("failures", totals["fail"])):
        root.set(key, str(value))
    root.set("errors", str(totals["error"]))
    root.set("skipped", str(totals["skip"]))
    root.set("time", f"{total:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def test_the_xml_is_the_bytes_elementtree_writes() -> None:
    """Guards the writer without xml.etree: escaping (attributes and text), empty elements, layout."""
    import random

    texts = ["", "plain", 'q"uote', "a&b<c>d", "line\nbreak\ttab\rcr", "≥ é 中", "\x00ctl\x1b", "  ", "]]>"]
    rng = random.Random(7)
    for _ in range(60):
        report = JUnitReport(rng.choice(texts))
        for _ in range(rng.randint(0, 3)):
            suite = report.suite(rng.choice(texts) + str(rng.random()))
            for _ in range(rng.randint(0, 4)):
                suite.add(
                    JUnitCase(
                        name=rng.choice(texts),
                        classname=rng.choice(texts),
                        status=rng.choice(["pass", "fail", "error", "skip"]),
                        message=rng.choice(texts),
                        body=rng.choice(texts),
                        time=rng.random() * 3,
                        file=rng.choice([None, "", "k8s/app.yaml", 'we"ird&.yaml']),
                        line=rng.choice([None, 0, 12]),
                        properties=tuple((rng.choice(texts), rng.choice(texts)) for _ in range(rng.randint(0, 2))),
                    )
                )
        assert report.to_xml() == _reference_xml(report)


def test_analyze_does_not_import_xml_etree() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom bmad.core.junit import JUnitCase, JUnitReport\n"
        "r = JUnitReport('x'); r.suite('s').add(JUnitCase('n', 'c', status='fail', body='b'))\n"
        "r.to_xml(); print('xml.etree' in sys.modules)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
