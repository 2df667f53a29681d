"""Readers of what other programs answer or write (an API's JSON, a tool's result file).

A reader that assumes the documented shape raises Python's own errors on another one: a field
missing (``KeyError``), a list too short (``IndexError``), a number where a list was expected
(``TypeError``), a text that is no number or date (``ValueError``), a text where an object was
expected (``AttributeError`` on ``.get``). :func:`reads_answer` turns those into an
:class:`~bmad.core.errors.AdapterError` that names the system, what was read and what to check,
so the check that asked fails with that, not as "a bug in the check".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from bmad.core.errors import AdapterError
from bmad.core.redact import redact

_P = ParamSpec("_P")
_R = TypeVar("_R")

SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


def reads_answer(system: str, action: str, *, hint: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Mark a pure reader of ``system``'s answers: one of another shape is an :class:`AdapterError`."""

    def decorate(read: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(read)
        def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return read(*args, **kwargs)
            except SHAPE_ERRORS as exc:  # an AdapterError the reader raised itself is none of these: it passes
                what = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
                detail = f"the answer is not shaped as documented ({what})"
                raise AdapterError(system, action, redact(detail), hint=hint) from None

        return checked

    return decorate
