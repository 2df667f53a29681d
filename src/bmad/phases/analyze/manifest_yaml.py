"""YAML for manifests: libyaml's parser (when present) with a fast scalar resolver, and a small
constructor that turns nodes into plain data and reports duplicate keys with their lines."""

from __future__ import annotations

from typing import Any

import yaml

_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOLS = frozenset(
    [
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
    ]
)  # YAML 1.1, as PyYAML resolves them
_NULLS = frozenset({"null", "Null", "NULL"})
# First characters that may start a non-string plain scalar in YAML 1.1 (bool, int, float,
# null, timestamp, merge, value). Anything else is a string: no regex needed.
_MAYBE_TYPED = frozenset("yYnNtTfFoO-+0123456789.<~=")


class _FastResolver(yaml.resolver.Resolver):
    """PyYAML's resolver with a fast path for the common case (plain strings, quoted scalars)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR_TAG
            if not value:
                return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            first = value[0]
            if first not in _MAYBE_TYPED:
                return _STR_TAG
            if first.isalpha():  # only the YAML 1.1 bool and null words start with a letter
                return _BOOL_TAG if value in _BOOLS else (_NULL_TAG if value in _NULLS else _STR_TAG)
            if value.isdigit() and (value[0] != "0" or len(value) == 1):
                return _INT_TAG
            last = value[-1]
            if value[0].isdigit() and last.isalpha() and last not in "zZ" and value[1:2] not in ("x", "o", "b"):
                return _STR_TAG  # quantities and versions: 100m, 128Mi, 1.2.3-rc1
            if value in _BOOLS:
                return _BOOL_TAG
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.SequenceNode:
            return _SEQ_TAG
        return _MAP_TAG


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)

if _CParser is not None:

    class _FastLoader(_CParser, yaml.constructor.SafeConstructor, _FastResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            _FastResolver.__init__(self)

    FastLoader: Any = _FastLoader
else:  # pragma: no cover - PyYAML without libyaml

    class _PyFastLoader(
        yaml.reader.Reader,
        yaml.scanner.Scanner,
        yaml.parser.Parser,
        yaml.composer.Composer,
        yaml.constructor.SafeConstructor,
        _FastResolver,
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            _FastResolver.__init__(self)

    FastLoader = _PyFastLoader


class DuplicateKey(Exception):
    def __init__(self, key: str, line: int, column: int, first_line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.column = column
        self.first_line = first_line


_MERGE_TAG = "tag:yaml.org,2002:merge"
_ScalarNode = yaml.ScalarNode
_MappingNode = yaml.MappingNode
_SequenceNode = yaml.SequenceNode


def _scalar(loader: Any, node: Any) -> Any:
    tag = node.tag
    if tag == _STR_TAG:
        return node.value
    if tag == _INT_TAG:
        value = node.value
        if value.isdigit() and (value[0] != "0" or len(value) == 1):
            return int(value)
    constructor = loader.yaml_constructors.get(tag)
    if constructor is None:
        return loader.construct_object(node, deep=True)
    return constructor(loader, node)


def _first_line(loader: Any, pairs: list[tuple[Any, Any]], key: Any) -> int:
    for key_node, _ in pairs:
        if key_node.__class__ is _ScalarNode and _scalar(loader, key_node) == key:
            return int(key_node.start_mark.line) + 1
    return 0


def construct_plain(loader: Any, node: Any) -> Any:
    """Plain data from a node tree; duplicate keys raise. Written for speed: scalars are handled
    inline, only collections recurse."""
    cls = node.__class__
    if cls is _MappingNode:
        pairs = node.value
        for key_node, _ in pairs:
            if key_node.tag == _MERGE_TAG:
                loader.flatten_mapping(node)
                pairs = node.value
                break
        result: dict[Any, Any] = {}
        for key_node, value_node in pairs:
            if key_node.__class__ is _ScalarNode:
                key = key_node.value if key_node.tag == _STR_TAG else _scalar(loader, key_node)
            else:
                key = str(construct_plain(loader, key_node))
            if key in result:
                raise DuplicateKey(
                    str(key),
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    _first_line(loader, pairs, key),
                )
            if value_node.__class__ is _ScalarNode:
                result[key] = value_node.value if value_node.tag == _STR_TAG else _scalar(loader, value_node)
            else:
                result[key] = construct_plain(loader, value_node)
        return result
    if cls is _SequenceNode:
        items: list[Any] = []
        append = items.append
        for item in node.value:
            if item.__class__ is _ScalarNode:
                append(item.value if item.tag == _STR_TAG else _scalar(loader, item))
            else:
                append(construct_plain(loader, item))
        return items
    return _scalar(loader, node)


def construct_lenient(loader: Any, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        return None


def yaml_type_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
