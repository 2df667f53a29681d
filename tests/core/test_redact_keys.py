"""A secret named by its key: ``DB_PASSWORD=x``, ``"client_secret": "x"`` in a text, and a literal
value under such a key in data (a check's evidence), are masked everywhere bmad writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
