"""bmad.yaml's merge keys and explicit tags: environments that share settings through an anchor and
``<<: *base`` then override some of them are one configuration, not a duplicate key; a value whose tag
it does not fit is one error at its line, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bmad.config.loader import load_config_text
from bmad.config.yaml_marks import parse_yaml_with_marks
from bmad.core.errors import ConfigError, ExitCode

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello" / "bmad.yaml"

# Two environments of the example: dev's settings anchored, prod merging them and overriding its risk
# and the local target's replicas (a mapping merged whole, then one key of it set again).
SHARED = """
environments:
  dev: &dev
    risk: low
    target: &target
      kind: local
      local: {replicas: 2, port: 8080, host_port_base: 18080}
  prod:
    <<: *dev
    risk: high
    target:
      <<: *target
      local: {replicas: 3, port: 8080, host_port_base: 18090}
"""


def _example_with_shared_environments() -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data.pop("environments")
    return yaml.safe_dump(data, sort_keys=False) + SHARED


def test_environments_sharing_an_anchor_load_with_their_overrides() -> None:
    """PyYAML's flatten_mapping put the merged keys before the mapping's own, and the loader's duplicate
    check took prod's ``risk`` for a second ``risk``: the file was refused."""
    config = load_config_text(_example_with_shared_environments(), source="bmad.yaml")
    dev, prod = config.environment("dev"), config.environment("prod")
    assert (dev.risk, prod.risk) == ("low", "high")
    assert (dev.target.local.replicas, prod.target.local.replicas) == (2, 3)
    assert prod.target.kind == "local"


def test_an_override_keeps_its_own_line_and_a_merged_key_the_anchors() -> None:
    text = "base: &b\n  risk: low\n  n: 1\nprod:\n  <<: *b\n  risk: high\n"
    data, marks = parse_yaml_with_marks(text, source="bmad.yaml")
    assert data["prod"] == {"risk": "high", "n": 1}
    assert marks[("prod", "risk")] == (6, 9)  # the override, where prod sets it
    assert marks[("prod", "n")] == (3, 6)  # merged: where the anchored mapping sets it


def test_a_mapping_earlier_in_a_merged_list_wins_and_the_node_is_not_rewritten() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\nd: *a\n"
    data, _ = parse_yaml_with_marks(text, source="bmad.yaml")
    assert data["c"] == {"x": 1, "y": 2}
    assert data["d"] == {"x": 1}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("p:\n  k: 1\n  k: 2\n", 3, "duplicate key 'k' (first defined at line 2)"),
        ("p:\n  <<: {a: 1}\n  <<: {b: 1}\n", 3, "duplicate key '<<'"),
        ("p:\n  <<: [1]\n", 2, "expected a mapping or list of mappings for merging"),
    ],
)
def test_a_key_set_twice_and_a_merge_of_a_non_mapping_are_still_errors(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml_with_marks(text, source="bmad.yaml")
    assert caught.value.line == line and words in str(caught.value)


@pytest.mark.parametrize("value", ["!!float token", "!!int abc", "!!bool maybe", "!!timestamp soon"])
def test_a_value_its_tag_does_not_fit_is_an_error_at_its_line(value: str) -> None:
    """PyYAML's constructors raised ValueError, KeyError or AttributeError: a traceback."""
    with pytest.raises(ConfigError) as caught:
        load_config_text(f"version: 1\nservice:\n  name: {value}\n", source="bmad.yaml")
    assert (caught.value.line, caught.value.column) == (3, 9)
    assert "does not read as one" in str(caught.value)


def test_config_check_of_a_bad_tag_exits_2_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "bmad.yaml"
    config.write_text("version: 1\nservice:\n  name: !!bool maybe\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "bmad", "config", "check", str(config)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == ExitCode.USAGE, run.stderr
    assert "Traceback" not in run.stderr and f"{config}:3:9" in run.stderr
