"""Label and field selectors of list and watch requests.

Syntax as "Labels and Selectors" and "Field Selectors" in the Kubernetes docs
(https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/,
https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Test = Callable[[Obj], bool]
_SET_TERM = re.compile(r"^\s*(!?)([^\s!=]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [t for t in [*terms, current] if t.strip()]


def _label_term(term: str) -> Test:
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (s.strip() for s in term.split(op, 1))
            if op == "!=":
                return lambda o: _labels(o).get(key) != value
            return lambda o: _labels(o).get(key) == value
    match = _SET_TERM.match(term)
    if not match:
        raise ValueError(f"unable to parse requirement: {term}")
    negated, key, op, values = match.groups()
    if op:
        wanted = {v.strip() for v in values.split(",")}
        if op == "in":
            return lambda o: _labels(o).get(key) in wanted
        return lambda o: _labels(o).get(key) not in wanted
    if negated:
        return lambda o: key not in _labels(o)
    return lambda o: key in _labels(o)


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def label_selector(text: str) -> Test:
    tests = [_label_term(t) for t in _split_terms(text)]
    return lambda o: all(t(o) for t in tests)


def matches_labels(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector object (matchLabels + matchExpressions) against labels."""
    if not selector:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        ok = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, False)
        if not ok:
            return False
    return True


def _field(obj: Obj, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def _field_test(path: str, value: str, negate: bool) -> Test:
    return lambda o: (_field(o, path) == value) != negate


def field_selector(text: str) -> Test:
    tests: list[Test] = []
    for term in _split_terms(text):
        negate = "!=" in term
        path, value = (s.strip() for s in re.split(r"!=|==|=", term, maxsplit=1))
        tests.append(_field_test(path, value, negate))
    return lambda o: all(t(o) for t in tests)
