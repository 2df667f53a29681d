"""One YAML document parsed into plain data plus the line and column of every value.

Kept apart from the loader so that a config answered by the cache (:mod:`bmad.config.cache`) does
not import PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml

from bmad.core.errors import ConfigError
from bmad.core.yaml_limits import MAX_DEPTH, check_flow_depth, check_node_graph, yaml_error

Path_ = tuple[str | int, ...]
Marks = dict[Path_, tuple[int, int]]

# libyaml's parser (same nodes and marks, about 10x faster); the pure-Python one where it is missing
_FastLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def parse_yaml_with_marks(text: str, *, source: str) -> tuple[Any, Marks]:
    """Parse one YAML document into plain data plus a map from field path to (line, column)."""
    check_flow_depth(text, source=source)  # before the scanner, which slows down with the depth squared
    if not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return _parse_with(_FastLoader, text, source=source)
        except ConfigError:
            pass  # the pure-Python parser below words every error as it always has
    return _parse_with(yaml.SafeLoader, text, source=source)


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
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                raise ConfigError(
                    "mapping keys must be plain scalars",
                    file=source,
                    line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                )
            if key in result:
                raise ConfigError(
                    f"duplicate key {key!r} (first defined at line {marks[(*path, str(key))][0]})",
                    file=source,
                    line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                    field=dotted((*path, str(key))),
                )
            child = (*path, str(key))
            value = _construct(loader, value_node, child, marks, source)
            # Unknown keys are reported at the key itself; other problems at the value.
            marks[(*child, "__key__")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = value
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, index), marks, source) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def dotted(loc: Path_) -> str:
    """A field path as written in messages: ``environments.dev.target.local[0]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text
