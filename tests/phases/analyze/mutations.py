"""Small mutations of the test baseline for tests that need one outside a check's ``cases``
(the cases themselves are data in the catalog files, applied by ``patches.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.phases.analyze.fixtures import Knobs, Mutation, Objects, web, web_container


def seq(*ops: Callable[[Objects, Knobs], Any]) -> Mutation:
    def run(objects: Objects, knobs: Knobs) -> None:
        for op in ops:
            op(objects, knobs)

    return run


def sc_set(key: str, value: Any) -> Mutation:
    return lambda o, k: web_container(o)["securityContext"].__setitem__(key, value)


def remove(kind: str) -> Mutation:
    return lambda o, k: o.__setitem__(slice(None), [x for x in o if x["kind"] != kind])


def setting(key: str, value: Any) -> Mutation:
    return lambda o, k: k.settings.__setitem__(key, value)


def annotate_for_tests(ids: str, reason: str) -> Mutation:
    """Suppress ``ids`` on the web Deployment with an annotation and a reason."""

    def run(objects: Objects, knobs: Knobs) -> None:
        web(objects)["metadata"].setdefault("annotations", {}).update(
            {"bmad.dev/ignore": ids, "bmad.dev/ignore-reason": reason}
        )

    return run
