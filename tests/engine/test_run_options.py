"""RunOptions: the run's options typed once from ``--set`` values; custom phases' keys are prefixed x_."""

from __future__ import annotations

from typing import Any

import pytest

from bmad.core.errors import ExitCode, UsageError
from bmad.ports.phase import PhaseContext, RunOptions


def test_from_sets_types_the_known_keys_and_keeps_the_rest() -> None:
    options = RunOptions.from_sets(
        {
            "no_rollback": True,
            "load_test": False,
            "change_type": "config_tuning",
            "image": "r/x",
            "x_build_status": "warn",
            "x-other": 1,
        }
    )
    assert options.no_rollback and not options.no_suppressions and not options.load_test
    assert options.change_type == ("config_tuning",) and options.image == "r/x" and options.digest is None
    assert options.extra == {"x_build_status": "warn", "x_other": 1}
    assert RunOptions.from_sets({"change_type": ["a", "b"]}).change_type == ("a", "b")
    assert RunOptions.from_sets({"image": ""}).image is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"no_suppressions": "maybe"}, "--set no_suppressions=maybe: expected true or false"),
        ({"load_test": 0}, "--set load_test=0: expected true or false"),
        ({"image": 3}, "--set image=3: expected text"),
        ({"change_type": [1]}, "expected a name or a list of names"),
        ({"no_rollbak": True}, "--set no_rollbak: unknown option"),
        ({"build_status": "warn"}, "--set build_status: unknown option"),
    ],
    ids=["not-a-bool", "a-number-for-a-bool", "not-text", "not-names", "typo", "custom-without-x"],
)
def test_a_bad_key_or_value_is_a_usage_error_naming_the_valid_keys(values: dict[str, Any], message: str) -> None:
    """Guards issue 19: an unknown key was ignored and ``no_suppressions=maybe`` read as true."""
    with pytest.raises(UsageError, match=message) as caught:
        RunOptions.from_sets(values)
    assert caught.value.exit_code is ExitCode.USAGE
    assert caught.value.hint is not None and "no_suppressions" in caught.value.hint and "x_" in caught.value.hint


def test_the_mapping_view_is_gone() -> None:
    """The compatibility view (``get``, ``keys``, ``[]``) is removed: phases read the attributes."""
    options = RunOptions.from_sets({"no_rollback": True, "x_build_checks": 4})
    assert not hasattr(options, "get") and not hasattr(options, "as_sets")
    assert options.no_rollback and options.extra["x_build_checks"] == 4


def test_a_context_built_with_a_mapping_gets_run_options() -> None:
    unused: Any = None
    given: Any = {"no_suppressions": True}
    ctx = PhaseContext(
        config=unused, environment_name="dev", release=unused, evidence=unused, history=unused, options=given
    )
    assert isinstance(ctx.options, RunOptions) and ctx.options.no_suppressions
