"""YAML for manifests: libyaml's parser (when present) with a fast scalar resolver, and a small
constructor that turns nodes into plain data and reports duplicate keys with their lines."""

from __future__ import annotations

import operator
from typing import Any

import yaml

from bmad.core.yaml_nodes import BAD_SCALAR_ERRORS, MERGE_TAG, CheckedScalars, bad_scalar, merged_pairs

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
_ScalarNode = yaml.ScalarNode
_MappingNode = yaml.MappingNode
_SequenceNode = yaml.SequenceNode


class _FastResolver(yaml.resolver.Resolver):
    """PyYAML's resolver with a fast path for the common case (plain strings, quoted scalars)."""

    # PyYAML's composer calls these two for every node (~130,000 calls for 1,000 objects) to follow the
    # path resolvers of ``add_path_resolver``; with none registered (bmad registers none) the methods
    # return at once. A C function that ignores its arguments does the same without a Python frame:
    # about a tenth of the parse time. (A builtin is not bound to the instance, so ``operator.is_``
    # gets the two arguments ``descend_resolver`` is given; ``tuple()`` takes none.)
    descend_resolver = operator.is_  # type: ignore[assignment]  # returns a bool nobody reads
    ascend_resolver = tuple  # type: ignore[assignment]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _ScalarNode:
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
        if kind is _SequenceNode:
            return _SEQ_TAG
        return _MAP_TAG


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)

if _CParser is not None:

    class _FastLoader(CheckedScalars, _CParser, yaml.constructor.SafeConstructor, _FastResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            _FastResolver.__init__(self)

    FastLoader: Any = _FastLoader
else:  # pragma: no cover - PyYAML without libyaml

    class _PyFastLoader(
        CheckedScalars,
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


_MERGE_KEY = "<<"  # a merge key, when it is set twice in one mapping (a duplicate key)


def _scalar(loader: Any, node: Any) -> Any:
    tag = node.tag
    if tag == _STR_TAG:
        return node.value
    if tag == _INT_TAG:
        value = node.value
        if value.isdigit() and (value[0] != "0" or len(value) == 1):
            return int(value)
    constructor = loader.yaml_constructors.get(tag)
    try:
        if constructor is None:
            return loader.construct_object(node, deep=True)
        return constructor(loader, node)
    except BAD_SCALAR_ERRORS:  # !!bool maybe, !!float abc: at its line, not a traceback
        raise bad_scalar(node) from None


def _first_line(loader: Any, pairs: list[tuple[Any, Any]], key: Any) -> int:
    for key_node, _ in pairs:
        if key_node.__class__ is not _ScalarNode:
            continue
        if (_MERGE_KEY if key_node.tag == MERGE_TAG else _scalar(loader, key_node)) == key:
            return int(key_node.start_mark.line) + 1
    return 0


def construct_plain(loader: Any, node: Any) -> Any:
    """Plain data from a node tree; duplicate keys raise. Written for speed: scalars are handled
    inline, only collections recurse."""
    cls = node.__class__
    if cls is _MappingNode:
        pairs = node.value
        for key_node, _ in pairs:
            if key_node.tag == MERGE_TAG:
                return _construct_merging(loader, node)
        result: dict[Any, Any] = {}
        for key_node, value_node in pairs:
            key = _key(loader, key_node)
            if key in result:
                raise _duplicate(loader, pairs, key_node, key)
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


def _key(loader: Any, key_node: Any) -> Any:
    if key_node.__class__ is _ScalarNode:
        return key_node.value if key_node.tag == _STR_TAG else _scalar(loader, key_node)
    return str(construct_plain(loader, key_node))


def _duplicate(loader: Any, pairs: list[tuple[Any, Any]], key_node: Any, key: Any) -> DuplicateKey:
    return DuplicateKey(
        str(key), key_node.start_mark.line + 1, key_node.start_mark.column + 1, _first_line(loader, pairs, key)
    )


def _construct_merging(loader: Any, node: Any) -> dict[Any, Any]:
    """A mapping with a merge key (``<<: *base``), as the YAML merge type says
    (https://yaml.org/type/merge.html): the merged mappings' keys, a mapping earlier in a merged
    list winning over a later one, and the mapping's own keys over all of them. A key the mapping
    merges and sets again is an override; a key it sets twice (``<<`` too) is a duplicate. The node is
    left as it was (PyYAML's ``flatten_mapping`` rewrites it, so an alias of it read later showed the
    merged keys as its own, and their override as a duplicate key)."""
    result: dict[Any, Any] = {}
    for key_node, value_node in merged_pairs(node):
        result[_key(loader, key_node)] = construct_plain(loader, value_node)
    own: set[Any] = set()
    for key_node, value_node in node.value:
        merging = key_node.tag == MERGE_TAG
        key = _MERGE_KEY if merging else _key(loader, key_node)
        if key in own:
            raise _duplicate(loader, node.value, key_node, key)
        own.add(key)
        if not merging:
            result[key] = construct_plain(loader, value_node)
    return result


def construct_lenient(loader: Any, node: yaml.Node) -> Any:
    """The data of a node whose mapping sets a key twice, the last value kept (as PyYAML keeps it); it
    raises what else is wrong with the node (a value its tag does not fit: ``yaml.YAMLError``)."""
    try:
        return loader.construct_object(node, deep=True)
    finally:  # as PyYAML's construct_document leaves them after a document, also when it raised
        loader.constructed_objects.clear()
        loader.recursive_objects.clear()
        loader.deep_construct = False


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
