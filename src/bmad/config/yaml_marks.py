"""One YAML document parsed into plain data plus the line and column of every value.

Kept apart from the loader so that a config answered by the cache (:mod:`bmad.config.cache`) does
not import PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml

from bmad.core.errors import ConfigError
from bmad.core.yaml_limits import MAX_DEPTH, check_flow_depth, check_node_graph, yaml_error
from bmad.core.yaml_nodes import MERGE_TAG, CheckedPySafeLoader, CheckedSafeLoader, has_merge_key, merged_pairs

Path_ = tuple[str | int, ...]
Marks = dict[Path_, tuple[int, int]]

# libyaml's parser (same nodes and marks, about 10x faster); the pure-Python one where it is missing.
# Both check their scalars: a value its explicit tag does not fit is a YAML error at its line.
_FastLoader: type[yaml.SafeLoader] = CheckedSafeLoader
_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def parse_yaml_with_marks(text: str, *, source: str) -> tuple[Any, Marks]:
    """Parse one YAML document into plain data plus a map from field path to (line, column)."""
    check_flow_depth(text, source=source)  # before the scanner, which slows down with the depth squared
    if not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return _parse_with(_FastLoader, text, source=source)
        except ConfigError:
            pass  # the pure-Python parser below words every error as it always has
    return _parse_with(CheckedPySafeLoader, text, source=source)


def _parse_with(loader_class: type[yaml.SafeLoader], text: str, *, source: str) -> tuple[Any, Marks]:
    try:
        loader = loader_class(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow (NUL, other control characters)
        raise yaml_error(exc, source) from None
    try:
        node = loader.get_single_node()
        if node is not None:
            check_node_graph(node, source=source)  # alias bombs, recursive aliases, deep nesting
        marks: Marks = {}
        data = None if node is None else _construct(loader, node, (), marks, source)
    except RecursionError:
        raise ConfigError(f"YAML nests deeper than {MAX_DEPTH} levels", file=source) from None
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source) from None
    finally:
        loader.dispose()
    return data, marks


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, marks: Marks, source: str) -> Any:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
        raise ConfigError(
            f"YAML tag {node.tag} is not plain data",
            file=source,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
        )
    if isinstance(node, yaml.MappingNode):
        return _construct_mapping(loader, node, path, marks, source)
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, index), marks, source) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, path: Path_, marks: Marks, source: str) -> Any:
    """A mapping, its merge keys read as the YAML merge type says (``<<: *base`` then the keys that
    override it: a shared environment's settings): the merged keys first, the mapping's own over them.
    A key the mapping sets twice (``<<`` too) is a duplicate; one it merges and sets again is not."""
    result: dict[Any, Any] = {}
    if has_merge_key(node):
        for key_node, value_node in merged_pairs(node):
            _put(loader, result, _key(loader, key_node, source), key_node, value_node, path, marks, source)
    own: dict[Any, int] = {}  # the keys the mapping sets itself, and their lines
    for key_node, value_node in node.value:
        key = "<<" if key_node.tag == MERGE_TAG else _key(loader, key_node, source)
        if key in own:
            raise ConfigError(
                f"duplicate key {key!r} (first defined at line {own[key]})",
                file=source,
                line=key_node.start_mark.line + 1,
                column=key_node.start_mark.column + 1,
                field=dotted((*path, str(key))),
            )
        own[key] = key_node.start_mark.line + 1
        if key_node.tag != MERGE_TAG:
            _put(loader, result, key, key_node, value_node, path, marks, source)
    return result


def _put(
    loader: yaml.SafeLoader,
    result: dict[Any, Any],
    key: Any,
    key_node: yaml.Node,
    value_node: yaml.Node,
    path: Path_,
    marks: Marks,
    source: str,
) -> None:
    child = (*path, str(key))
    result[key] = _construct(loader, value_node, child, marks, source)
    # Unknown keys are reported at the key itself; other problems at the value.
    marks[(*child, "__key__")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)


def _key(loader: yaml.SafeLoader, key_node: yaml.Node, source: str) -> Any:
    key = loader.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
    if not isinstance(key, str | int | float | bool):
        raise ConfigError(
            "mapping keys must be plain scalars",
            file=source,
            line=key_node.start_mark.line + 1,
            column=key_node.start_mark.column + 1,
        )
    return key


def dotted(loc: Path_) -> str:
    """A field path as written in messages: ``environments.dev.target.local[0]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text
