"""A value its explicit tag does not fit (``!!bool maybe``, ``!!float abc``), wherever bmad reads YAML from
outside: one ``yaml.YAMLError`` at the value's line, which every caller already turns into its error,
where PyYAML's constructors raised ``KeyError``, ``ValueError`` or ``AttributeError`` (an internal error)."""

from __future__ import annotations

from pathlib import Path

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


def test_every_other_reader_of_outside_yaml_gives_its_own_error_or_skips(tmp_path: Path) -> None:
    """The attestations file, a rendered document, a kustomization.yaml and a kubeconfig: each read
    with yaml.safe_load raised KeyError on ``!!bool maybe`` (and the kubeconfig reader AttributeError on
    a list)."""
    from bmad.adapters.renderers.documents import kind_and_name
    from bmad.adapters.renderers.fingerprint import _kustomize_folders
    from bmad.adapters.targets.kubernetes.kubeconfig import _exec_config
    from bmad.phases.analyze.attestations import load_attestations

    attestations = tmp_path / "attestations.yaml"
    attestations.write_text("attestations:\n- item: TQ-030\n  who: !!bool maybe\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_attestations(attestations)
    assert (caught.value.file, caught.value.line) == (str(attestations), 3)

    assert kind_and_name("kind: !!bool maybe\nmetadata: {name: x}\n") == ("", "")

    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("resources: !!bool maybe\n", encoding="utf-8")
    assert _kustomize_folders(folder, set()) == [folder.resolve()]

    for text in ("users: !!bool maybe\n", "- a list\n", "users: 3\n"):
        kubeconfig = tmp_path / "config"
        kubeconfig.write_text(text, encoding="utf-8")
        assert _exec_config([str(kubeconfig)], "me") is None
