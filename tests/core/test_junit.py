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
