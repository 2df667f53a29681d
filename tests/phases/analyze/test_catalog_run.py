"""A large bundle's catalog is evaluated by two processes (issue 13): a forked child takes entries while
this process validates, then both take the entries left. The readiness report must be the one one
process makes: items in catalog order, every finding, and the suppression notes in the order one
process evaluating the catalog in order writes them. Real forks, the real catalog."""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bmad.config.analyze import Suppression
from bmad.core import aside
from bmad.phases.analyze.catalog import catalog
from bmad.phases.analyze.catalog_run import ASIDE_OBJECTS, start_catalog
from bmad.phases.analyze.context import EvalContext
from bmad.phases.analyze.evaluators import register
from bmad.phases.analyze.readiness import ReadinessReport, run_catalog
from bmad.phases.analyze.readiness_data import NA, CatalogEntry, Fail, Scope
from bmad.phases.analyze.suppressions import SuppressionSet
from tests.helpers import wait_for
from tests.phases.analyze.fixtures import TODAY, Knobs, Objects, build, validator, web

pytestmark = pytest.mark.skipif(not aside.enabled(), reason="work is done aside on Linux only")

THIS_PROCESS = os.getpid()
# Check ids named by annotations without a reason, each failed by the annotated objects (privileged,
# no resources, an image from another registry, no pod securityContext): each object's note is raised
# by the first entry in catalog order that fails there, whichever process evaluates it.
IGNORED = ["SC-012", "IS-006", "SC-043", "SC-022"]


def _in_child() -> bool:
    return os.getpid() != THIS_PROCESS


def _await(marker: Path) -> None:
    wait_for(marker.exists, interval=0.002, what=f"{marker.name} written")


@register("test_catalog_run_handshake", Scope.BUNDLE)
def _handshake(ctx: EvalContext, params: Any) -> None:
    """Each process says it took one of two such entries and waits for the other's word: past them,
    both processes are taking entries at once."""
    mine, theirs = (params["child"], params["parent"]) if _in_child() else (params["parent"], params["child"])
    Path(mine).touch()
    _await(Path(theirs))


@register("test_catalog_run_child_first", Scope.BUNDLE)
def _child_first(ctx: EvalContext, params: Any) -> None:
    """Taken by the child (the test waits for its word before this process takes any entry)."""
    if _in_child():
        Path(params["marker"]).touch()
        if params.get("die"):
            os._exit(3)  # the child dies while it evaluates its share


@register("test_catalog_run_after_validation", Scope.BUNDLE, after_validation=True)
def _after_validation_here(ctx: EvalContext, params: Any) -> Fail | None:
    if _in_child():
        return Fail("evaluated by the child, before validation ran")
    return None if ctx.schema_results is not None else Fail("evaluated before validation ran")


@register("test_catalog_run_reads_validation_unflagged", Scope.BUNDLE)
def _reads_validation_unflagged(ctx: EvalContext, params: Any) -> NA:
    """Not flagged after_validation, yet it reads what validation leaves."""
    if _in_child():
        Path(params["marker"]).touch()
    return NA("not validated" if ctx.schema_results is None else f"{len(ctx.schema_results)} validated")


def _grown(objects: Objects, knobs: Knobs) -> None:
    """The baseline's web Deployment copied ASIDE_OBJECTS times, varied: failures, suppressed failures,
    annotations without a reason (notes), config suppressions (one expired: a note before any entry)."""
    model = web(objects)
    for index in range(ASIDE_OBJECTS):
        obj = copy.deepcopy(model)
        obj["metadata"]["name"] = f"web-{index}"
        pod = obj["spec"]["template"]["spec"]
        main = pod["containers"][0]
        if index % 3 == 0 or index % 7 == 0:
            main["securityContext"]["privileged"] = True
        if index % 4 == 0 or index % 7 == 0:
            main.pop("resources")
        if index % 5 == 0 or index % 7 == 0:
            main["image"] = "docker.io/library/web:latest"
        if index % 6 == 0 or index % 7 == 0:
            pod.pop("securityContext")
        if index % 7 == 0:
            obj["metadata"]["annotations"] = {"bmad.dev/ignore": IGNORED[index // 7 % len(IGNORED)]}
        elif index % 11 == 0:
            obj["metadata"]["annotations"] = {"bmad.dev/ignore": "SC-012", "bmad.dev/ignore-reason": "fuse"}
        objects.append(obj)
    knobs.settings["suppressions"] = [
        Suppression(check="*", reason="old", expires=date(2020, 1, 1)),
        Suppression(check="IS-006", reason="sized later", expires=date(2027, 1, 1), name="web-1*"),
    ]


@functools.cache
def _large() -> EvalContext:
    """Validated by the real validator, made once (the tests only read it)."""
    return build(_grown, validate=True)


def _suppressions(ctx: EvalContext) -> SuppressionSet:
    return SuppressionSet(ctx.settings.suppressions, today=TODAY)


def _one_process(ctx: EvalContext, entries: list[CatalogEntry] | None = None) -> ReadinessReport:
    return run_catalog(ctx, suppressions=_suppressions(ctx), entries=entries)


def _two_processes(
    ctx: EvalContext, entries: list[CatalogEntry], *, child_first: Path | None = None
) -> tuple[ReadinessReport, list[int]]:
    """The report of a run with a child, and the numbers of the entries this process evaluated; with
    ``child_first``, this process takes no entry before the child marked that file."""
    with start_catalog(ctx, _suppressions(ctx), entries) as run:
        assert run.child is not None  # a child was started: the test compares two processes with one
        if child_first is not None:
            _await(child_first)
        return run.report(), run.evaluated_here


def _extra(evaluator: str, **params: Any) -> CatalogEntry:
    return replace(
        catalog()[0], id="XX-001", name="Extra", evaluator=evaluator, scope=Scope.BUNDLE, applies_to=(), params=params
    )


def test_two_processes_make_the_report_one_process_makes(tmp_path: Path) -> None:
    ctx = _large()
    handshake = _extra("test_catalog_run_handshake", child=str(tmp_path / "child"), parent=str(tmp_path / "parent"))
    entries = [handshake, handshake, *catalog()]
    shared, evaluated_here = _two_processes(ctx, entries)
    assert 1 <= len(evaluated_here) <= len(entries) - 1  # each process evaluated one handshake at least
    here = _one_process(ctx, entries)
    assert shared.to_dict() == here.to_dict()
    assert len(here.suppression_notes) > ASIDE_OBJECTS // 7  # the notes were compared, in their order
    assert sum(len(item.findings) for item in here.items) > 1000


def test_notes_keep_the_catalog_order_whichever_process_raised_them(tmp_path: Path) -> None:
    """The child takes the first entries before this process takes any: the notes those raised come
    back from it and still come first."""
    ctx = _large()
    entries = [_extra("test_catalog_run_child_first", marker=str(tmp_path / "took")), *catalog()]
    shared, evaluated_here = _two_processes(ctx, entries, child_first=tmp_path / "took")
    assert 0 not in evaluated_here
    here = _one_process(ctx, entries)
    assert shared.suppression_notes == here.suppression_notes
    assert shared.to_dict() == here.to_dict()


def test_a_small_bundle_is_evaluated_here_alone() -> None:
    ctx = build()
    with start_catalog(ctx, _suppressions(ctx)) as run:
        assert run.child is None
        report = run.report()
        assert run.evaluated_here == list(range(len(catalog())))
    assert report.to_dict() == _one_process(ctx).to_dict()


def test_the_entries_of_a_child_that_died_are_evaluated_here(tmp_path: Path) -> None:
    ctx = _large()
    entries = [_extra("test_catalog_run_child_first", marker=str(tmp_path / "took"), die=True), *catalog()]
    shared, evaluated_here = _two_processes(ctx, entries, child_first=tmp_path / "took")
    assert evaluated_here[-1] == 0  # the child took the first entry and died there: done here, last
    assert shared.to_dict() == _one_process(ctx, entries).to_dict()


def test_an_entry_that_reads_validation_is_evaluated_here_after_it(tmp_path: Path) -> None:
    ctx = build(_grown)
    entries = [
        _extra("test_catalog_run_after_validation"),
        _extra("test_catalog_run_child_first", marker=str(tmp_path / "took")),
        *catalog(),
    ]
    with start_catalog(ctx, _suppressions(ctx), entries) as run:
        _await(tmp_path / "took")  # the child is taking entries: the first was not queued for it
        ctx.schema_results = {}  # validation ran
        report = run.report()
    assert report.items[0].failures == []
    assert run.evaluated_here[0] == 0


def test_an_unflagged_evaluator_that_reads_validation_in_the_child_is_evaluated_here(tmp_path: Path) -> None:
    """In the child, what validation leaves is not there yet: an evaluator that reads it is handed back
    undone, never judged on a validation that had not run."""
    ctx = build(_grown)
    entries = [_extra("test_catalog_run_reads_validation_unflagged", marker=str(tmp_path / "took")), *catalog()]
    with start_catalog(ctx, _suppressions(ctx), entries) as run:
        _await(tmp_path / "took")  # the child took it
        ctx.schema_results = {7: validator().validate(ctx.bundle.objects[0].data)}  # validation ran
        report = run.report()
    assert report.items[0].reason == "1 validated"
    assert 0 in run.evaluated_here


def test_leaving_without_the_report_kills_and_reaps_the_child() -> None:
    ctx = _large()
    with pytest.raises(RuntimeError), start_catalog(ctx, _suppressions(ctx)) as run:
        child = run.child
        assert child is not None
        raise RuntimeError("validation failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped: no zombie left


def test_without_a_fork_one_process_evaluates_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BMAD_NO_FORK", "1")
    ctx = _large()
    with start_catalog(ctx, _suppressions(ctx)) as run:
        assert run.child is None
        report = run.report()
    assert report.to_dict() == _one_process(ctx).to_dict()
