"""Evidence JSON written in one walk: the same bytes as ``json.dumps`` with ``indent=2`` (and with
``redact_data`` first), which runs CPython's pure-Python encoder and took seconds on a large bundle."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, datetime
from enum import Enum, IntEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from bmad.core.indented_json import dumps_indented
from bmad.core.redact import MASK, forget_secrets, masked_named, redact, redact_data, register_secret, secret_named
from tests.helpers import WalkCounter

KEYED = (secret_named, masked_named)  # as the evidence folder encodes: redact_data masks a value by its key too


class Color(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def sample() -> dict[Any, Any]:
    return {
        "b": [1, 2.5, -0.0, 1e300, float("nan"), float("inf"), float("-inf"), True, False, None],
        "a": {"nested": {"deeper": [[], {}, [{}], ({"t": "tuple"},)], "empty": ""}},
        3: "int key",
        "2.5": "a string key that sorts after the int key's text",
        "é": 'non-ASCII ≥ \u2028 \x00 "quoted" \\ \n\t',
        "objects": [datetime(2026, 1, 2, tzinfo=UTC), Path("/tmp/x"), Color.RED, Level.HIGH, {1, 2} - {1, 2}],
        "mapping": MappingProxyType({"z": 1, "y": "password=hunter22"}),
        "ordered": OrderedDict([("z", 1), ("a", 2)]),
        "secret": "the value s3cr3t-value-42 and token=abcdef",
    }


def test_the_text_is_json_dumps_indent_2_sorted_with_default_str() -> None:
    """Guards the evidence bytes: every JSON type, nesting, empty containers, odd keys and objects."""
    data = sample()
    del data[3]  # json.dumps cannot sort int and str keys together; neither can this encoder
    assert dumps_indented(data) == json.dumps(data, indent=2, sort_keys=True, default=str)
    odd_keys = [{3: "x", 1.5: "y", True: "z"}, {1: "one"}, {1.0: "one"}, {True: "one"}, {"1": 1}, {None: 0}]
    assert dumps_indented(odd_keys) == json.dumps(odd_keys, indent=2, sort_keys=True, default=str)
    assert dumps_indented("top") == json.dumps("top", indent=2) and dumps_indented(7) == "7"


def test_with_redaction_the_text_is_that_of_redact_data_first() -> None:
    """Guards the evidence of a secret: values masked as redact_data masks them, keys left to the
    whole-text pass, mappings and tuples as redact_data turns them into dicts and lists."""
    register_secret("s3cr3t-value-42")
    try:
        data = sample()
        del data[3]
        expected = json.dumps(redact_data(data), indent=2, sort_keys=True, default=str)
        assert dumps_indented(data, strings=redact, keyed=KEYED) == expected
        assert MASK in expected and "s3cr3t-value-42" not in expected and "hunter22" not in expected
    finally:
        forget_secrets()


def test_keys_json_cannot_hold_are_refused_as_json_dumps_refuses_them() -> None:
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        dumps_indented({(1, 2): "x"})


def test_a_dict_met_again_is_written_again_at_its_new_depth() -> None:
    """Guards phase.json of a large ANALYZE (issue 13): the readiness report is both the phase's
    artifact and its check's, encoded once and re-indented; the text stays json.dumps's wherever
    the shared dict sits, deeper or shallower, in lists or mappings, redacted or not."""
    shared = {"items": [{"id": "R-1", "note": "two\nlines"}, {"empty": {}, "list": []}], "n": 1}
    data = {
        "a": shared,
        "b": [[shared, {"c": {"d": shared}}]],
        "e": {"f": {"g": {"h": {"i": shared}}}},
        "z": shared,
        "secret": "token=abcdef123",
    }
    deep_first = {"a": {"b": {"c": shared}}, "b": shared, "c": [shared]}
    for value in (data, deep_first, [shared, shared]):
        expected = json.dumps(value, indent=2, sort_keys=True, default=str)
        assert dumps_indented(value) == expected
        redacted = json.dumps(redact_data(value), indent=2, sort_keys=True, default=str)
        assert dumps_indented(value, strings=redact, keyed=KEYED) == redacted
    walked = WalkCounter({"k": "v", "nested": {"x": 1}})
    text = dumps_indented({"a": walked, "b": [walked], "c": {"d": walked}}, strings=redact, keyed=KEYED)
    assert walked.walks == 1 and text.count('"nested"') == 3


def test_with_a_limit_the_text_stops_once_longer_than_it() -> None:
    """Guards the report's evidence column (issue 13): it shows 6,000 characters of a check's
    evidence, which can be megabytes; the encoding stops past the limit, its text a beginning of
    the whole one, longer than the limit exactly when the whole one is."""
    data = sample()
    del data[3]
    whole = dumps_indented(data)
    for limit in (0, 1, 7, 100, len(whole) - 1, len(whole), len(whole) + 1):
        part = dumps_indented(data, limit=limit)
        assert whole.startswith(part)
        assert (len(part) > limit) == (len(whole) > limit)
        assert part == whole or len(part) > limit
    assert dumps_indented(data, limit=len(whole)) == whole
