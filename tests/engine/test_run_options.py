"""RunOptions: the run's options typed once from ``--set`` values, with the mapping view phases still read."""

from __future__ import annotations

from typing import Any

from bmad.ports.phase import PhaseContext, RunOptions


def test_from_sets_types_the_known_keys_and_keeps_the_rest() -> None:
    options = RunOptions.from_sets(
        {
            "no_rollback": True,
            "load_test": False,
            "change_type": "config_tuning",
            "image": "r/x",
            "build_status": "warn",
        }
    )
    assert options.no_rollback and not options.no_suppressions and not options.load_test
    assert options.change_type == ("config_tuning",) and options.image == "r/x" and options.digest is None
    assert options.extra == {"build_status": "warn"}
    assert RunOptions.from_sets({"load_test": 0}).load_test  # only an explicit false skips the load test
    assert RunOptions.from_sets({"change_type": ["a", "b"]}).change_type == ("a", "b")


def test_the_mapping_view_answers_like_the_set_values() -> None:
    options = RunOptions.from_sets({"no_rollback": True, "build_checks": 4})
    assert options.get("no_rollback") is True and options.get("load_test") is None
    assert options.get("docker_host", "default") == "default"
    assert dict(options) == {"no_rollback": True, "build_checks": 4}
    assert RunOptions(docker_host="unix:///s").get("docker_host") == "unix:///s"
    assert RunOptions.from_sets({"load_test": False}).get("load_test") is False


def test_a_context_built_with_a_mapping_gets_run_options() -> None:
    unused: Any = None
    given: Any = {"no_suppressions": True}
    ctx = PhaseContext(
        config=unused, environment_name="dev", release=unused, evidence=unused, history=unused, options=given
    )
    assert isinstance(ctx.options, RunOptions) and ctx.options.no_suppressions
