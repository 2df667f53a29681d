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
from typing import Any, NoReturn, TypeVar

import yaml

from bmad.core.datatypes import datatype
from bmad.core.errors import ConfigError
from bmad.core.yaml_nodes import CheckedSafeLoader

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

    Post-order walk, memoised per node object, so an alias bomb costs as many steps as it has
    distinct nodes. It recurses once per level and refuses a level past ``limits.max_depth``
    before going deeper, so a deep document never exhausts Python's stack.
    """
    walk = _GraphWalk(source, limits)
    if root.__class__ is _ScalarNode:
        if walk.leaf_refused:
            walk.refuse_leaf(root, 1)
        return 1
    return walk.visit(root, 1)


_ScalarNode = yaml.ScalarNode
_MappingNode = yaml.MappingNode
_LEAF = (1, 1)  # a scalar's expanded size and height


class _GraphWalk:
    """One :func:`check_node_graph` walk: the (size, height) of each finished node, and the path."""

    def __init__(self, source: str, limits: YamlLimits) -> None:
        self.source = source
        self.max_nodes = limits.max_nodes
        self.max_depth = limits.max_depth
        self.leaf_refused = limits.max_nodes < 1 or limits.max_depth < 1
        self.done: dict[int, tuple[int, int]] = {}
        self.on_path: set[int] = set()

    def visit(self, node: yaml.Node, depth: int) -> int:
        """Size of the collection ``node`` at ``depth``; children are walked last one first."""
        key = id(node)
        if key in self.on_path:
            raise _limit_error("YAML alias refers to a node that contains it (a recursive alias)", node, self.source)
        self.on_path.add(key)
        if depth > self.max_depth:
            raise self.too_deep(node)
        done = self.done
        kids = [part for pair in node.value for part in pair] if node.__class__ is _MappingNode else node.value
        size = 1
        deepest = 0
        leaf_refused = self.leaf_refused or depth + 1 > self.max_depth
        for kid in reversed(kids):
            kid_key = id(kid)
            known = done.get(kid_key)
            if known is None:
                if kid.__class__ is _ScalarNode:
                    if leaf_refused:
                        self.refuse_leaf(kid, depth + 1)
                    done[kid_key] = known = _LEAF
                else:
                    self.visit(kid, depth + 1)
                    known = done[kid_key]
            size += known[0]
            if known[1] > deepest:
                deepest = known[1]
        self.on_path.discard(key)
        done[key] = (size, deepest + 1)
        if size > self.max_nodes:
            raise self.too_many(node)
        if deepest + 1 > self.max_depth:
            raise self.too_deep(node)
        return size

    def refuse_leaf(self, node: yaml.Node, depth: int) -> NoReturn:
        """A scalar at ``depth`` that the limits refuse: too deep, or more nodes than allowed."""
        raise self.too_deep(node) if depth > self.max_depth else self.too_many(node)

    def too_deep(self, node: yaml.Node) -> ConfigError:
        return _limit_error(f"YAML nests deeper than {self.max_depth} levels", node, self.source)

    def too_many(self, node: yaml.Node) -> ConfigError:
        reason = f"YAML expands to more than {self.max_nodes:,} nodes through aliases (an alias bomb?)"
        return _limit_error(reason, node, self.source)


def safe_load_limited(text: str, *, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """``yaml.safe_load`` for text from outside bmad: the node graph is checked before any data is
    built, and a document nested past Python's stack is a :class:`ConfigError` too."""
    return next(iter(safe_load_all_limited(text, source=source, limits=limits)), None)


def safe_load_all_limited(text: str, *, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> list[Any]:
    """Every document of a multi-document text, each checked as :func:`safe_load_limited` does."""
    check_flow_depth(text, source=source, max_depth=limits.max_depth)
    loader = CheckedSafeLoader(text)  # a value its tag does not fit is a yaml.YAMLError, at its line
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


# PyYAML's pure-Python parser quotes an alias's or anchor's name in these messages (libyaml does not).
# The name is the text after an unquoted ``*`` or ``&``: in a password or token written without quotes
# (``password: *S3cret``), it is the secret itself. The line and column point at it; the name is dropped.
_NAMED = re.compile(r"(found (?:undefined alias|duplicate anchor)) '[^']*'")
_ALIAS_HINT = "a value that starts with '*' (or '&') is read as an alias (or anchor): quote it"


def yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """What the parser found wrong, without the text of the value it was reading."""
    return _NAMED.sub(r"\1", exc.problem or exc.context or "invalid YAML")


_E = TypeVar("_E", bound=ConfigError)


def yaml_error(
    exc: yaml.YAMLError,
    source: str,
    *,
    what: str = "invalid YAML",
    error: type[_E] = ConfigError,  # type: ignore[assignment]
) -> _E:
    """A parser's error as bmad's: "<what>: <problem>" at the file, line and column it names.

    Never ``str(exc)`` of a marked error: for a text (not a stream) PyYAML quotes the whole line it
    stopped at, and that line may hold a secret value (a rendered Secret, a values file)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = yaml_problem(exc)
        return error(
            f"{what}: {problem}",
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint=_ALIAS_HINT if problem.startswith("found undefined alias") else None,
        )
    return error(f"{what}: {exc}", file=source)
