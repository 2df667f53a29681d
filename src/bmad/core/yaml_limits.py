"""Limits on what one YAML document may expand to, checked before it is turned into data.

YAML aliases let a few hundred bytes describe billions of nodes (the "billion laughs" or alias
bomb: nine anchors, each a list of nine aliases of the one before). The parsers compose aliases as
shared nodes, so composing is cheap; it is turning the node graph into Python data that explodes.
:func:`check_node_graph` walks the composed graph once per distinct node (memoised) and refuses a
document whose expanded size, nesting depth or alias cycles would exceed the limits below, naming
the file and the line of the node where the limit was crossed. Documents without any anchor
(``&``) cannot contain aliases, so callers may skip the walk for them (:func:`may_have_aliases`).

The limits are far above what real configuration and Kubernetes manifests need (a large CRD
nests about 40 levels; a 1,000-object bundle is about 100,000 nodes).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError

MAX_EXPANDED_NODES = 2_000_000
MAX_DEPTH = 200


@datatype(frozen=True)
class YamlLimits:
    max_nodes: int = MAX_EXPANDED_NODES
    max_depth: int = MAX_DEPTH


DEFAULT_LIMITS = YamlLimits()  # the default of every function below (a frozen value, shared)


def may_have_aliases(text: str) -> bool:
    """False when the text has no anchor, so no alias can expand (aliases need an anchor)."""
    return "&" in text


_BRACKETS = re.compile(r"[\[\]{}]")


def check_flow_depth(text: str, *, source: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse ``[[[[...`` / ``{{{{...`` nested past ``max_depth`` before a YAML parser sees it.

    PyYAML's scanner slows down with the square of the flow depth (seconds at a few thousand
    levels), so the brackets are counted first. Quotes and comments are not told apart: only a
    text with more than ``max_depth`` unclosed brackets in a row is refused.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > max_depth:
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(f"YAML nests deeper than {max_depth} levels", file=source, line=line)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _limit_error(reason: str, node: yaml.Node, source: str) -> ConfigError:
    mark = node.start_mark
    return ConfigError(
        reason,
        file=source,
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
        hint="write the data out instead of expanding anchors and aliases, or split the file",
    )


def check_node_graph(root: yaml.Node, *, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> int:
    """The number of nodes ``root`` expands to; raises :class:`ConfigError` past the limits.

    Iterative post-order walk (deep documents must not exhaust Python's stack), memoised per node
    object, so an alias bomb costs as many steps as it has distinct nodes. A scalar is finished
    where it is reached (it has no children): the same steps, in the same order, as pushing it.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]
    while stack:
        node, kids = stack.pop()
        key = id(node)
        if kids is not None:  # its children are done
            _finish(node, kids, sizes, depths, source, limits)
            on_path.discard(key)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _limit_error("YAML alias refers to a node that contains it (a recursive alias)", node, source)
        if node.__class__ is yaml.ScalarNode:
            if len(on_path) + 1 > limits.max_depth:
                raise _limit_error(f"YAML nests deeper than {limits.max_depth} levels", node, source)
            _finish(node, [], sizes, depths, source, limits)
            continue
        on_path.add(key)
        children = _children(node)
        stack.append((node, children))
        stack.extend([(child, None) for child in children if id(child) not in sizes])
        if len(on_path) > limits.max_depth:
            raise _limit_error(f"YAML nests deeper than {limits.max_depth} levels", node, source)
    return sizes[id(root)]


def _finish(
    node: yaml.Node,
    kids: list[yaml.Node],
    sizes: dict[int, int],
    depths: dict[int, int],
    source: str,
    limits: YamlLimits,
) -> None:
    """Size and depth of ``node`` from its finished children's; raises past the limits."""
    size = 1
    deepest = 0
    for kid in kids:
        kid_key = id(kid)
        size += sizes[kid_key]
        depth = depths[kid_key]
        if depth > deepest:
            deepest = depth
    key = id(node)
    sizes[key] = size
    depths[key] = deepest + 1
    if size > limits.max_nodes:
        raise _limit_error(
            f"YAML expands to more than {limits.max_nodes:,} nodes through aliases (an alias bomb?)", node, source
        )
    if deepest + 1 > limits.max_depth:
        raise _limit_error(f"YAML nests deeper than {limits.max_depth} levels", node, source)


def safe_load_limited(text: str, *, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """``yaml.safe_load`` for text from outside bmad: the node graph is checked before any data is
    built, and a document nested past Python's stack is a :class:`ConfigError` too."""
    return next(iter(safe_load_all_limited(text, source=source, limits=limits)), None)


def safe_load_all_limited(text: str, *, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> list[Any]:
    """Every document of a multi-document text, each checked as :func:`safe_load_limited` does."""
    check_flow_depth(text, source=source, max_depth=limits.max_depth)
    loader_class: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            check_node_graph(node, source=source, limits=limits)
            documents.append(loader.construct_document(node))
    except RecursionError:
        raise ConfigError(f"YAML nests deeper than {limits.max_depth} levels", file=source) from None
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    finally:
        loader.dispose()
    return documents


def yaml_error(exc: yaml.YAMLError, source: str) -> ConfigError:
    """A parser's error as bmad's: "invalid YAML: <problem>" at the file, line and column it names."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return ConfigError(
            f"invalid YAML: {exc.problem or exc.context or 'invalid YAML'}",
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
    return ConfigError(f"invalid YAML: {exc}", file=source)
