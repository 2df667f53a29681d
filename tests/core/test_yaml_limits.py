"""Alias bombs, recursive aliases and deep nesting are refused before any data is built."""

from __future__ import annotations

import time

import pytest
import yaml

from bmad.config.loader import load_config_text
from bmad.core.errors import ConfigError
from bmad.core.yaml_limits import YamlLimits, check_node_graph, may_have_aliases, yaml_error


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        aliases = ", ".join(f"*a{level - 1}" for _ in range(width))
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def compose(text: str) -> yaml.Node:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    assert node is not None
    return node


def test_alias_bomb_is_refused_fast_with_its_line() -> None:
    text = alias_bomb()
    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        check_node_graph(compose(text), source="bomb.yaml")
    assert time.perf_counter() - started < 1.0
    assert "alias bomb" in str(caught.value)
    assert caught.value.file == "bomb.yaml"
    assert caught.value.line is not None and 2 <= caught.value.line <= 10


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError, match="recursive alias"):
        check_node_graph(compose("a: &x [1, *x]\n"), source="loop.yaml")


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    text = "[" * 300 + "]" * 300
    with pytest.raises(ConfigError, match="nests deeper than 50"):
        check_node_graph(compose(text), source="deep.yaml", limits=YamlLimits(max_depth=50))


def test_ordinary_anchors_pass_and_are_counted() -> None:
    text = "base: &b {image: x, port: 80}\ndev: *b\nprod: *b\n"
    # root + 3 (key, value) pairs; each value mapping is 1 + 2 pairs of scalars = 5 nodes
    assert check_node_graph(compose(text), source="ok.yaml") == 1 + 3 + 3 * 5
    assert may_have_aliases(text)
    assert not may_have_aliases("plain: text\n")


def test_safe_load_limited_reads_documents_and_refuses_bombs() -> None:
    from bmad.core.yaml_limits import safe_load_all_limited, safe_load_limited

    assert safe_load_limited("a: &x [1, 2]\nb: *x\n", source="f.yaml") == {"a": [1, 2], "b": [1, 2]}
    assert safe_load_all_limited("a: 1\n---\nb: 2\n", source="f.yaml") == [{"a": 1}, {"b": 2}]
    assert safe_load_limited("", source="f.yaml") is None
    with pytest.raises(ConfigError, match="alias bomb"):
        safe_load_limited(alias_bomb(), source="f.yaml")
    with pytest.raises(ConfigError, match=r"invalid YAML|nests deeper"):  # libyaml stops at its flow-level limit
        safe_load_limited("[" * 100_000 + "]" * 100_000, source="f.yaml")


def expanded(node: yaml.Node, depth: int, limits: YamlLimits) -> int:
    """The reference: the size of the fully expanded tree, walked naively (small documents only)."""
    if depth > limits.max_depth:
        raise ValueError("too deep")
    if isinstance(node, yaml.MappingNode):
        return 1 + sum(expanded(part, depth + 1, limits) for pair in node.value for part in pair)
    if isinstance(node, yaml.SequenceNode):
        return 1 + sum(expanded(item, depth + 1, limits) for item in node.value)
    return 1


def test_the_memoised_walk_agrees_with_expanding_every_alias() -> None:
    """Guards the one-recursion-per-level walk (session 5): on random documents with shared anchors,
    the count and the accept/refuse outcome equal those of expanding the tree naively."""
    import random

    rng = random.Random(5)

    def flow(depth: int) -> str:
        if depth > 5 or rng.random() < 0.3:
            return rng.choice(["1", "x", "*s", "[]", "{}"])
        if rng.random() < 0.5:
            return "[" + ", ".join(flow(depth + 1) for _ in range(rng.randint(0, 4))) + "]"
        return "{" + ", ".join(f"k{i}: {flow(depth + 1)}" for i in range(rng.randint(0, 4))) + "}"

    for _ in range(300):
        values = "".join(f"v{j}: &v{j} [{flow(0)}, {flow(1)}]\n" for j in range(3))
        text = "s: &s [a, b]\n" + values + "w: [*v0, *v1, *v2, *v0]\n"
        node = compose(text)
        for limits in (YamlLimits(), YamlLimits(max_depth=4), YamlLimits(max_nodes=40)):
            try:
                want: int | None = expanded(node, 1, limits)
            except ValueError:
                want = None
            if want is not None and want > limits.max_nodes:
                want = None
            try:
                got: int | None = check_node_graph(node, source="r.yaml", limits=limits)
            except ConfigError:
                got = None
            assert got == want, text


@pytest.mark.parametrize(
    "text",
    ["webhook: *S3cret-pw\n", "a: &S3cret-pw 1\nb: &S3cret-pw 2\n", "a: &S3cret-pw\n  b: 1\nc: &S3cret-pw 2\n"],
)
def test_a_yaml_error_never_quotes_an_alias_or_anchor_name(text: str) -> None:
    """PyYAML's pure-Python parser puts the name after an unquoted '*' or '&' in its message: in a password
    written without quotes, the password. bmad.yaml's loader words its errors with that parser."""
    with pytest.raises(yaml.MarkedYAMLError) as raised:
        yaml.compose(text, Loader=yaml.SafeLoader)
    assert "S3cret-pw" in str(raised.value)  # the parser's own words
    error = yaml_error(raised.value, "f.yaml")
    assert "S3cret-pw" not in str(error) and error.line
    with pytest.raises(ConfigError) as refused:
        load_config_text(f"service: x\n{text}")
    assert "S3cret-pw" not in str(refused.value) + str(refused.value.hint)
