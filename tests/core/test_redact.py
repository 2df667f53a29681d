"""redact_data: every string value masked, each distinct one once; the structure kept."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from types import MappingProxyType

from bmad.core.redact import MASK, forget_secrets, redact_data, register_secret


class Word(StrEnum):
    SECRET = "k3y-s3cr3t-value"


def test_strings_are_masked_anywhere_keys_are_kept_and_mappings_and_tuples_become_dicts_and_lists() -> None:
    """Guards the exact-class fast path of redact_data: str subclasses, other mappings, tuples and
    non-JSON objects are treated as before (masked, made dicts and lists, kept as they are)."""
    register_secret("k3y-s3cr3t-value")
    try:
        when = date(2026, 1, 2)
        data = {
            "k3y-s3cr3t-value": ["k3y-s3cr3t-value", ("x k3y-s3cr3t-value",), Word.SECRET, 1, 2.5, True, None],
            "view": MappingProxyType({"a": "password=hunter22", "b": when}),
            "same": ["k3y-s3cr3t-value"] * 3,
        }
        assert redact_data(data) == {
            "k3y-s3cr3t-value": [MASK, [f"x {MASK}"], MASK, 1, 2.5, True, None],
            "view": {"a": f"password={MASK}", "b": when},
            "same": [MASK] * 3,
        }
        assert type(redact_data(data)["view"]) is dict and redact_data(data)["view"]["b"] is when
    finally:
        forget_secrets()
