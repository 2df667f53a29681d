"""A registered secret is masked in the forms the output formats escape it to (session 12).

SARIF and JUnit XML are made from the readiness report and redacted as whole texts: a secret holding
a quote, an ampersand, a backslash or a letter outside ASCII was written escaped (``pa\\"ss``,
``&amp;``, ``\\u00f6``) and the whole-text redaction, which looked for it as registered, let it through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmad.core.junit import JUnitCase, JUnitReport
from bmad.core.redact import MASK, escaped_forms, forget_secrets, redact, register_secret
from bmad.core.sarif import SarifLog
from bmad.ledger.evidence import EvidenceFolder
from bmad.reports.text import html_text, markdown_text

SECRETS = ['pa"ss&w\u00f6rd1', "back\\slash<tag>'q", "tab\there\nline"]
MARKERS = ["rd1", "slash", "here"]  # a part of each that every escaping leaves as it is


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    forget_secrets()
    for secret in SECRETS:
        register_secret(secret)
    yield
    forget_secrets()


def _renderings(secret: str) -> dict[str, str]:
    message = f"found <b>{secret}</b> in env"
    junit = JUnitReport("bmad")
    junit.suite("analyze").add(JUnitCase(name=message, classname="c", status="fail", message=message, body=message))
    sarif = SarifLog()
    sarif.run("bmad").result("analyze.secret", message=message, level="error")
    return {
        "json ascii": json.dumps({"m": message}),
        "json unicode": json.dumps({"m": message}, ensure_ascii=False),
        "sarif": sarif.to_json(indent=None),
        "junit": junit.to_xml(),
        "html": f"<p>{html_text(message)}</p>",
        "markdown": markdown_text(message),
    }


@pytest.mark.parametrize("secret", SECRETS)
def test_a_secret_escaped_by_a_format_is_masked_in_its_whole_text(secret: str) -> None:
    for kind, text in _renderings(secret).items():
        assert secret in text or any(form in text for form in escaped_forms(secret)), kind  # the text holds it
        masked = redact(text)
        assert secret not in masked and not any(form in masked for form in escaped_forms(secret)), kind
        assert MASK in masked, kind


def test_the_sarif_and_junit_evidence_files_hold_no_escaped_secret(tmp_path: Path) -> None:
    """What the readiness check writes: the SARIF and the JUnit text through ``write_text``."""
    folder = EvidenceFolder(tmp_path / "run")
    for secret, marker in zip(SECRETS, MARKERS, strict=True):
        texts = _renderings(secret)
        for name in ("sarif", "junit"):
            assert marker in texts[name]
            written = (folder.root / folder.write_text(f"analyze/{name}.txt", texts[name])).read_text()
            assert marker not in written and MASK in written, (name, secret)


def test_a_plain_secret_has_no_escaped_forms() -> None:
    assert escaped_forms("s3cr3t-Value_123") == set()
