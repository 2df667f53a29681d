"""The manifests' YAML loader (bmad.phases.analyze.manifest_yaml): libyaml's parser with a fast
resolver must turn every text into the data PyYAML's own ``safe_load`` makes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bmad.phases.analyze.manifest_files import parse_manifest_text
from bmad.phases.analyze.manifest_yaml import DuplicateKey, FastLoader, construct_plain

SCALARS = [
    # YAML 1.1 booleans and nulls, as PyYAML resolves them
    "yes", "No", "TRUE", "off", "On", "y", "n", "null", "Null", "~", "",
    # numbers: decimal, octal, hex, binary, sexagesimal, floats, infinities, not-a-number
    "0", "7", "-3", "+12", "010", "0o17", "0x1F", "0b101", "1_000", "190:20:30", "1.5", "-.5", "1e3", "6.8523015e+5",
    ".inf", "-.Inf", ".NaN",
    # dates and timestamps
    "2026-12-07", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10",
    # strings that look close to typed ones: quantities, versions, words
    "100m", "128Mi", "1.2.3", "1.2.3-rc1", "v1", "0.5Gi", "1e", "yesno", "nullable", "Off-peak", "<<x", ".5.",
    "--x", "+", "0x", "0b", "1z", "12Z", "08", "09.5",
    # quoted: always strings
    "'yes'", '"10"', "'~'", '"2026-12-07"',
]  # fmt: skip


def _fast(text: str) -> Any:
    loader = FastLoader(text)
    try:
        return construct_plain(loader, loader.get_single_node())
    finally:
        loader.dispose()


@pytest.mark.parametrize("scalar", SCALARS)
def test_a_scalar_resolves_as_safe_load_resolves_it(scalar: str) -> None:
    text = f"plain: {scalar}\nlisted: [{scalar or 'x'}]\n{scalar or 'k'}: key\n"
    expected, got = yaml.safe_load(text), _fast(text)
    assert got == expected
    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
    assert [type(k) for k in got] == [type(k) for k in expected]


def test_nested_documents_with_anchors_and_merge_keys_load_as_safe_load_loads_them() -> None:
    text = """\
base: &base {cpu: 500m, memory: 128Mi, replicas: 2}
derived:
  <<: *base
  memory: 256Mi
lists:
- [1, two, {three: 3.0}]
- - nested: [yes, no, ~]
    deep: {a: {b: {c: [2026-12-07, "2026-12-07"]}}}
empty: {}
none:
"""
    assert _fast(text) == yaml.safe_load(text)


def test_no_path_resolver_is_followed_so_none_may_be_registered() -> None:
    """The loader skips PyYAML's path-resolver bookkeeping (its descend/ascend methods do nothing):
    right only while the loader has no path resolver, which bmad never adds."""
    assert FastLoader.yaml_path_resolvers == {}
    loader = FastLoader("a: 1\n")
    try:
        assert loader.yaml_path_resolvers == {}
    finally:
        loader.dispose()


def test_merge_keys_follow_the_yaml_merge_type() -> None:
    """https://yaml.org/type/merge.html: a key a mapping merges and sets again is an override, not a
    duplicate key (bmad reported one); of a merged list the earlier mapping wins; a merged mapping's own
    keys win over what it merges. (PyYAML 6.0.4 keeps the first of equal keys by the identity of their
    text, so with one-letter keys it let b's merged ``x: nope`` win over b's own ``x: b``.)"""
    text = """\
a: &a {x: a, only_a: 1}
b: &b {x: b, only_b: 2, <<: {inner: from-b-merge, x: nope}}
one: {<<: *a, x: own}
two: {<<: [*a, *b]}
three: {<<: [*b, *a], y: 3}
"""
    data = _fast(text)
    assert data["one"] == yaml.safe_load(text)["one"] == {"x": "own", "only_a": 1}
    assert data["two"] == {"x": "a", "only_a": 1, "only_b": 2, "inner": "from-b-merge"}
    assert data["three"] == {"x": "b", "only_a": 1, "only_b": 2, "inner": "from-b-merge", "y": 3}
    assert data["b"] == {"x": "b", "only_b": 2, "inner": "from-b-merge"}


def test_two_merge_keys_in_one_mapping_are_a_duplicate_key() -> None:
    with pytest.raises(DuplicateKey) as raised:
        _fast("a: &a {x: 1}\nb: &b {x: 2}\nobj:\n  <<: *a\n  <<: *b\n")
    assert (raised.value.key, raised.value.line, raised.value.first_line) == ("<<", 5, 4)


def test_an_alias_of_a_merging_mapping_is_the_same_data_each_time() -> None:
    """PyYAML rewrites a merging mapping's node in place; read through an alias later, its merged keys
    looked like its own and their override like a duplicate key."""
    text = "base: &base {cpu: 1}\nmid: &mid {<<: *base, cpu: 2}\nfirst: *mid\nsecond: *mid\n"
    data = _fast(text)
    assert data == yaml.safe_load(text)
    assert data["first"] == data["second"] == {"cpu": 2}


def test_a_key_set_twice_beside_a_merge_is_still_a_duplicate() -> None:
    with pytest.raises(DuplicateKey) as raised:
        _fast("base: &base {cpu: 1}\nobj:\n  <<: *base\n  cpu: 2\n  cpu: 3\n")
    assert (raised.value.key, raised.value.line, raised.value.first_line) == ("cpu", 5, 4)


def test_merging_a_scalar_is_not_valid_yaml() -> None:
    with pytest.raises(yaml.YAMLError, match="expected a mapping or list of mappings for merging"):
        _fast("obj:\n  <<: just-a-string\n")


def test_a_manifest_overriding_a_merged_key_has_no_finding() -> None:
    text = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-debug
  annotations: &defaults {LOG_LEVEL: info, WORKERS: "2"}
data:
  <<: *defaults
  LOG_LEVEL: debug
"""
    (settings,), findings = parse_manifest_text(text, file="k8s/settings.yaml")
    assert findings == []
    assert settings.data["data"] == {"WORKERS": "2", "LOG_LEVEL": "debug"}
    assert settings.line_of(("data", "LOG_LEVEL")) == 8  # the override's own line


@pytest.mark.parametrize("value", ["!!float token", "!!int abc", "!!bool maybe", "!!timestamp soon"])
def test_a_value_its_tag_does_not_fit_is_a_finding_at_its_line(value: str) -> None:
    """``!!bool maybe`` raised KeyError and ``!!timestamp soon`` AttributeError out of the parser (which
    never raises: ANALYZE stopped with a traceback); ``!!float token`` was a finding at the document's
    first line, with PyYAML's own words."""
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {value}\n"
    objects, findings = parse_manifest_text(text, file="m.yaml")
    assert objects == []
    [finding] = findings
    assert (finding.line, finding.column) == (6, 6)
    assert finding.message == f"not valid YAML: the value tagged {value.split()[0]} does not read as one"


def test_a_duplicate_key_beside_a_bad_tag_is_two_findings_and_the_next_document_still_loads() -> None:
    """The lenient second pass after a duplicate key raised PyYAML's KeyError out of the parser."""
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: 1\n  a: 2\n  b: !!bool maybe\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n"
    )
    objects, findings = parse_manifest_text(text, file="m.yaml")
    assert [(f.line, f.message.split(";")[0]) for f in findings] == [
        (6, "duplicate key 'a' (first at line 5)"),
        (7, "not valid YAML: the value tagged !!bool does not read as one"),
    ]
    assert [o.name for o in objects] == ["y"]
