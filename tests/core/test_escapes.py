"""bmad.core.escapes.encodable: any text, a file name from the disk or a tar included, encodes as UTF-8."""

from __future__ import annotations

import os

import pytest

from bmad.core.escapes import encodable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("k8s/app.yaml", "k8s/app.yaml"),
        ("k8s/café.yaml", "k8s/café.yaml"),
        (os.fsdecode(b"k8s/12-\xfe.yaml"), "k8s/12-\\xfe.yaml"),  # as `ls -b` shows it
        (os.fsdecode(b"caf\xc3\xa9-\xff"), "café-\\xff"),
        ("a\ud800b", "a\\ud800b"),  # a lone surrogate that is no escaped byte
    ],
)
def test_a_name_is_kept_or_escaped_where_utf8_cannot_encode_it(text: str, shown: str) -> None:
    assert encodable(text) == shown
    shown.encode("utf-8")
