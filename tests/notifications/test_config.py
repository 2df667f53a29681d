"""The ``notifications:`` section refuses what could not be delivered or would leak a secret."""

from __future__ import annotations

import pytest

from bmad.config.loader import load_config_text
from bmad.core.errors import ConfigError

HEAD = "version: 1\nservice: {name: hello}\nenvironments:\n  dev:\n    notifications:\n      channels:\n"


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ("        - {name: a, type: slack}\n", "a slack channel needs url"),
        ("        - {name: a, type: slack, url: https://hooks.slack.com/services/T/B/x}\n", "secret values are never"),
        ("        - {name: a, type: email, smtp_host: mx}\n", "needs smtp_host, from_address and to"),
        (
            "        - {name: a, type: teams, url: {env: U}, signing_secret: {env: K}}\n",
            "signing_secret is for webhook channels",
        ),
        ("        - {name: a, type: webhook, url: {env: U}}\n" * 2, "a given more than once"),
        ("        - {name: a, type: webhook, url: {env: U}, events: [deployed]}\n", "run_started"),
    ],
)
def test_a_channel_that_cannot_work_is_refused(channels: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config_text(HEAD + channels)


def test_every_event_goes_to_a_channel_by_default() -> None:
    config = load_config_text(HEAD + "        - {name: ops, type: webhook, url: {env: U}}\n")
    [channel] = config.environment("dev").notifications.channels
    assert channel.events == ["run_started", "gate_failed", "rolled_back", "succeeded"]
