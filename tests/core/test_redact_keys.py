"""A secret named by its key: ``DB_PASSWORD=x``, ``"client_secret": "x"`` in a text, and a literal
value under such a key in data (a check's evidence), are masked everywhere bmad writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmad.core import escapes
from bmad.core.redact import MASK, redact, redact_data, secret_named
from bmad.ledger.evidence import EvidenceFolder
from bmad.ledger.row_json import PlainArtifacts


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("POSTGRES_PASSWORD=example123", "POSTGRES_PASSWORD="),  # compose's environment, a process listing
        ('"DB_PASSWORD": "hunter2hunter2"', '"DB_PASSWORD": "'),
        ('"client_secret": "s3cr3tval"', '"client_secret": "'),
        ("MY_TOKEN: zzzz9999", "MY_TOKEN: "),
        ("AWS_SECRET_ACCESS_KEY=abcdefgh", "AWS_SECRET_ACCESS_KEY="),
        ("my-api-key: abcd1234", "my-api-key: "),
        ("password=abc12345", "password="),
    ],
)
def test_a_name_word_after_an_underscore_or_a_dash_still_names_a_secret(text: str, kept: str) -> None:
    """``\\b`` before the name word missed DB_PASSWORD (an underscore is a word character)."""
    assert redact(text) == kept + MASK + ('"' if text.endswith('"') else "")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('"password": "correct horse battery"', '"password": "********"'),  # was "******** horse battery"
        ("password='it is me'", "password='********'"),  # "it" is under three characters: was kept whole
        ('{"api_key": "k1 k2", "other": "v"}', '{"api_key": "********", "other": "v"}'),
        ('"token": "a\\"b c"', '"token": "********"'),  # an escaped quote inside
        ('"password": "it\'s mine"', '"password": "********"'),  # an apostrophe inside double quotes
        ("password=abc def", "password=******** def"),  # unquoted: to the first blank, as before
    ],
)
def test_a_quoted_value_is_masked_to_its_closing_quote(text: str, masked: str) -> None:
    assert redact(text) == masked


@pytest.mark.parametrize(
    "text",
    ["secretName: app-secrets", "max_tokens: 4096", "token_count: 55555", "mypassword=abcdef", "passwordless: true"],
)
def test_a_name_word_inside_another_word_or_name_names_nothing(text: str) -> None:
    assert redact(text) == text


def test_a_value_under_a_secret_naming_key_is_masked_whole_in_data() -> None:
    data = {
        "DB_PASSWORD": "correct horse battery staple",  # the text pattern would keep " horse battery staple"
        "env": [{"client_secret": "s3cr3tval", "MAX_TOKENS": "4096"}],
        "secretName": "app-secrets",
        "token": "no",  # under three characters: as in a text
        "password": {"env": "DB_PASSWORD"},  # a reference, not a value
    }
    expected = {
        "DB_PASSWORD": MASK,
        "env": [{"client_secret": MASK, "MAX_TOKENS": "4096"}],
        "secretName": "app-secrets",
        "token": "no",
        "password": {"env": "DB_PASSWORD"},
    }
    assert redact_data(data) == expected
    assert PlainArtifacts().plain(data) == expected  # the ledger's rows
    assert secret_named("DB_PASSWORD") and not secret_named("secretName")
    assert redact_data({"note": "password=abc12345"}) == {"note": f"password={MASK}"}  # a key naming none


def test_the_evidence_file_masks_the_whole_value_too(tmp_path: Path) -> None:
    folder = EvidenceFolder(tmp_path)
    folder.write_json("e.json", {"environment": {"DB_PASSWORD": "correct horse battery staple", "LOG": "info"}})
    text = (tmp_path / "e.json").read_text()
    assert "horse" not in text and "correct" not in text
    assert json.loads(text) == {"environment": {"DB_PASSWORD": MASK, "LOG": "info"}}


def _json_in_json(text: str) -> str:
    return json.dumps(json.dumps({"m": text}))


ESCAPED = {
    "as written": lambda text: text,
    "a JSON string (SARIF)": lambda text: json.dumps({"m": text}),
    "JSON inside a JSON string": _json_in_json,
    "HTML (documents)": escapes.html,
    "an XML attribute (JUnit)": escapes.xml_attribute,
}


@pytest.mark.parametrize("form", list(ESCAPED))
@pytest.mark.parametrize(
    "text",
    [
        'password="correct horse"',
        "password='correct horse'",
        '"db_password": "correct horse"',
        'token: "correct horse"',
        "DB_PASSWORD=correcthorse and more",
    ],
)
def test_a_value_is_masked_however_its_quotes_were_escaped(form: str, text: str) -> None:
    """SARIF and JUnit are made from the report and redacted as whole texts, where a message's
    ``password="..."`` reads ``password=\\"...\\"`` or ``password=&quot;...&quot;``: the pattern knew only
    the plain quotes, so the value went through whole."""
    written = ESCAPED[form](text)
    masked = redact(written)
    assert "correct" not in masked and "horse" not in masked, masked
    assert MASK in masked
    if form.startswith("a JSON"):
        assert json.loads(masked) == {"m": redact(text)}  # still JSON, the same mask as the plain text
    if form.startswith("JSON inside"):
        assert json.loads(json.loads(masked)) == {"m": redact(text)}


def test_a_mask_between_escaped_quotes_stops_at_the_end_of_its_json_string() -> None:
    """An escaped opening quote without its closing one: the mask ends with the JSON string, so the
    evidence file stays JSON (a SARIF that does not parse is not uploaded)."""
    text = json.dumps({"m": 'password="abcdef', "n": "other value"})
    masked = redact(text)
    assert json.loads(masked) == {"m": 'password="' + MASK, "n": "other value"}


def test_sarif_evidence_masks_a_quoted_value_in_a_message(tmp_path: Path) -> None:
    from bmad.core.sarif import SarifLog

    log = SarifLog()
    run = log.run("bmad", docs_page="analyze.md")
    run.result("X-1", message='annotation says password="correct horse battery"', level="error")
    folder = EvidenceFolder(tmp_path)
    written = (tmp_path / folder.write_text("analyze/readiness.sarif", log.to_json(indent=None))).read_text()
    assert "correct" not in written and "battery" not in written
    assert json.loads(written)["runs"][0]["results"][0]["message"]["text"].endswith('password="' + MASK + '"')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<failure>password=abc</failure>", f"<failure>password={MASK}</failure>"),
        ("<td>token: abcdef</td><td>x</td>", f"<td>token: {MASK}</td><td>x</td>"),
        (
            '<system-out>password="abcd</system-out><case n="2"/>',
            f'<system-out>password="{MASK}</system-out><case n="2"/>',
        ),
        ("<p>password='abc</p><p>it's</p>", f"<p>password='{MASK}</p><p>it's</p>"),
        ('{"m": "password=\'abc", "other": "x\'", "n": 1}', f'{{"m": "password=\'{MASK}", "other": "x\'", "n": 1}}'),
        (
            '{\n  "m": "password=\'abc",\n  "other": "x y\'"\n}',
            f'{{\n  "m": "password=\'{MASK}",\n  "other": "x y\'"\n}}',
        ),
        ("password='ab\"cdef'", f"password='{MASK}'"),  # a double quote inside single quotes, in plain text
        ("password='ab cd' and more", f"password='{MASK}' and more"),
        ("<td>Authorization: Bearer abcdef123</td><td>x</td>", f"<td>Authorization: Bearer {MASK}</td><td>x</td>"),
    ],
)
def test_a_mask_stops_at_the_structure_of_the_text_it_is_in(text: str, expected: str) -> None:
    """Texts redacted whole are XML, HTML or JSON (JUnit, documents, SARIF): the mask of a value ran on
    to the next blank or quote, over a closing tag or a JSON string's end, and the file no longer parsed
    or lost the field beside it."""
    assert redact(text) == expected


def test_a_junit_file_with_a_named_value_before_a_closing_tag_still_parses(tmp_path: Path) -> None:
    from xml.etree import ElementTree

    from bmad.core.junit import JUnitCase, JUnitReport

    report = JUnitReport("tests")
    suite = report.suite("suite")
    suite.add(JUnitCase("t1", "c", status="fail", message="failed", body="AssertionError: token: s3cr3tv4lue"))
    suite.add(JUnitCase("t2", "c", status="fail", message="failed", body="print('password=\"hunter22')"))
    suite.add(JUnitCase("t3", "c"))
    folder = EvidenceFolder(tmp_path)
    written = (tmp_path / folder.write_text("junit.xml", report.to_xml())).read_text()
    assert "s3cr3tv4lue" not in written and "hunter22" not in written
    cases = ElementTree.fromstring(written).iter("testcase")
    assert [case.get("name") for case in cases] == ["t1", "t2", "t3"]  # none eaten by a mask
