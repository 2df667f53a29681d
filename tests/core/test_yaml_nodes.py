"""A value its explicit tag does not fit (``!!bool maybe``, ``!!float abc``), wherever bmad reads YAML from
outside: one ``yaml.YAMLError`` at the value's line, which every caller already turns into its error,
where PyYAML's constructors raised ``KeyError``, ``ValueError`` or ``AttributeError`` (an internal error)."""

from __future__ import annotations

import pytest
import yaml

from bmad.cli.release_run import parse_sets
from bmad.core.errors import ConfigError
from bmad.core.yaml_limits import safe_load_all_limited, safe_load_limited
from bmad.core.yaml_nodes import safe_load, safe_load_all

BAD = ["!!bool maybe", "!!float abc", "!!int 12ab", "!!timestamp soon"]


@pytest.mark.parametrize("value", BAD)
def test_safe_load_raises_a_yaml_error_at_the_value(value: str) -> None:
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        safe_load(f"a: 1\nb: [x, {value}]\n")
    assert caught.value.problem_mark is not None
    assert (caught.value.problem_mark.line, caught.value.problem_mark.column) == (1, 7)
    assert caught.value.problem == f"the value tagged {value.split()[0]} does not read as one"
    assert value.split()[1] not in str(caught.value)  # the text itself is not repeated


@pytest.mark.parametrize("value", BAD)
def test_the_limited_loaders_of_other_tools_files_give_a_config_error(value: str) -> None:
    for load in (safe_load_limited, safe_load_all_limited):
        with pytest.raises(ConfigError) as caught:
            load(f"services:\n  app:\n    x: {value}\n", source="compose.yaml")
        assert (caught.value.file, caught.value.line, caught.value.column) == ("compose.yaml", 3, 8)


def test_good_values_load_as_pyyaml_loads_them() -> None:
    text = "a: !!float 1.5\nb: !!bool yes\nc: 2026-12-07\nd: [1, x]\n---\ne: ~\n"
    assert safe_load_all(text) == list(yaml.safe_load_all(text))
    assert safe_load(text.split("---")[0]) == yaml.safe_load(text.split("---")[0])


def test_a_set_value_its_tag_does_not_fit_stays_text() -> None:
    """``--set 'x=!!float abc'`` was an internal error; a value that is not YAML is kept as text."""
    assert parse_sets(["x=!!float abc", "y=3", "z=[a, b]"]) == {"x": "!!float abc", "y": 3, "z": ["a", "b"]}
