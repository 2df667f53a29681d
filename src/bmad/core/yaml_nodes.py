"""What bmad's YAML constructors share: the merge key (``<<: *base``) as the YAML merge type reads it,
and a tagged scalar that does not read as its tag, both as PyYAML errors with the node's line.

PyYAML's own merge (``flatten_mapping``) puts the merged pairs before the mapping's own and rewrites
the node, so a constructor that reports duplicate keys took an override for a duplicate, and an alias
of the mapping read a second time showed the merged keys as its own. An explicit tag on a value that
does not fit it (``!!float abc``, ``!!bool maybe``, ``!!timestamp soon``) raised ``ValueError``,
``KeyError`` or ``AttributeError`` from PyYAML's constructors: a traceback instead of a line.
"""

from __future__ import annotations

from typing import Any

import yaml

MERGE_TAG = "tag:yaml.org,2002:merge"
# What PyYAML's scalar constructors raise for a value their tag does not fit.
BAD_SCALAR_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError)


def merged_pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """The (key, value) nodes a mapping's merge keys bring (https://yaml.org/type/merge.html), in an
    order where the last pair of a key wins: of ``<<: [*a, *b]``, ``b``'s pairs then ``a``'s (a mapping
    earlier in the list wins); a merged mapping brings its own merged pairs first. The mapping's own
    keys, which win over all of them, are not among them. The nodes are not changed."""
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag != MERGE_TAG:
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"expected a mapping or list of mappings for merging, but found {source.id}",
                    source.start_mark,
                )
            merged += merged_pairs(source)
            merged += [(key, value) for key, value in source.value if key.tag != MERGE_TAG]
    return merged


def has_merge_key(node: yaml.MappingNode) -> bool:
    return any(key_node.tag == MERGE_TAG for key_node, _ in node.value)


def bad_scalar(node: yaml.Node) -> yaml.constructor.ConstructorError:
    """The error for a scalar whose explicit tag its text does not fit, at the scalar (its text is not
    repeated: a value in a file may be one nobody should see in a log)."""
    tag = str(node.tag)
    short = "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag
    message = f"the value tagged {short} does not read as one"
    return yaml.constructor.ConstructorError(None, None, message, node.start_mark)


class CheckedScalars:
    """A mixin before a safe loader's constructor: ``construct_object`` of a scalar its tag does not fit raises
    :func:`bad_scalar` (a ``yaml.YAMLError`` callers already handle) instead of ``ValueError``/``KeyError``."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[misc]
        except BAD_SCALAR_ERRORS:
            if isinstance(node, yaml.ScalarNode):
                raise bad_scalar(node) from None
            raise


class CheckedPySafeLoader(CheckedScalars, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, checking its scalars (its error messages are the parser's own)."""


CheckedSafeLoader: type[Any] = CheckedPySafeLoader
if hasattr(yaml, "CSafeLoader"):  # libyaml's parser, about ten times faster, where it is installed

    class _CheckedCSafeLoader(CheckedScalars, yaml.CSafeLoader):
        pass

    CheckedSafeLoader = _CheckedCSafeLoader


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` of text from outside bmad, a value its tag does not fit a ``yaml.YAMLError``."""
    loader = CheckedSafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def safe_load_all(text: str) -> list[Any]:
    """``list(yaml.safe_load_all(text))``, as :func:`safe_load` checks each value."""
    loader = CheckedSafeLoader(text)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    finally:
        loader.dispose()
