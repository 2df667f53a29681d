"""``bmad demo --notify-webhook URL``: the demo's config notifies a webhook whose URL stays out of the file."""

from __future__ import annotations

import yaml

from bmad.config.loader import load_config_text
from bmad.demo.config import DEMO_WEBHOOK_ENV, demo_config
from tests.demo.test_demo_config import StackAddresses
from tests.helpers import EXAMPLES


def test_the_demo_config_notifies_a_webhook_by_reference() -> None:
    example = yaml.safe_load((EXAMPLES / "hello" / "bmad.yaml").read_text())
    data = demo_config(example, stack=StackAddresses(), host_port_base=31000, base_image="b", notify=True)  # type: ignore[arg-type]
    [channel] = load_config_text(yaml.safe_dump(data)).environment("dev").notifications.channels
    assert (channel.name, channel.type, channel.events) == (
        "demo-webhook",
        "webhook",
        ["run_started", "gate_failed", "rolled_back", "succeeded"],
    )
    assert channel.url is not None and channel.url.env == DEMO_WEBHOOK_ENV
    plain = demo_config(example, stack=StackAddresses(), host_port_base=31000, base_image="b")  # type: ignore[arg-type]
    assert "notifications" not in plain["environments"]["dev"]
