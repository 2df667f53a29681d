"""The evaluator registry: each evaluator is registered under a name with the scope it runs on.

A catalog entry names its evaluator; the scope (what the evaluator is handed, once per matching
thing) comes from here, never from the data. An evaluator returns ``None`` (pass),
:class:`~bmad.phases.analyze.readiness_data.Fail` (message and field path), ``NA`` (does not apply, with
the reason) or ``Skip`` (could not find out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from bmad.phases.analyze.readiness_data import Scope

Params = Mapping[str, Any]
FieldPath = tuple[str | int, ...]


class Evaluator(NamedTuple):
    scope: Scope
    fn: Callable[..., Any]
    # reads what validation and the server dry-run leave in the context (``schema_results``,
    # ``dry_run``): evaluated once they ran, never by a child started before them
    after_validation: bool = False


EVALUATORS: dict[str, Evaluator] = {}


def register(
    name: str, scope: Scope, *, after_validation: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in EVALUATORS:
            raise ValueError(f"evaluator {name!r} registered twice")
        EVALUATORS[name] = Evaluator(scope, fn, after_validation)
        return fn

    return wrap
