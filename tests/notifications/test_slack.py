"""Slack: a Block Kit message to an incoming webhook (the shape Slack documents)."""

from __future__ import annotations

from bmad.adapters.notify import DeliveryPolicy
from bmad.adapters.notify.slack import SlackNotifier
from bmad.ports.notifications import Notification
from tests.notifications.receivers import http_receiver


def test_the_message_is_block_kit_with_a_fallback_text_and_a_report_button(
    notification: Notification, policy: DeliveryPolicy
) -> None:
    with http_receiver(200) as receiver:
        attempts = SlackNotifier(receiver.url("/services/T0/B0/x"), policy).send(notification)
    assert attempts == 1
    [request] = receiver.received
    assert request.path == "/services/T0/B0/x"
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["text"].startswith("hello 0123456 in staging stopped at MEASURE: MEASURE failed")
    header, text, fields, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": notification.title, "emoji": True}}
    assert text["type"] == "section" and text["text"]["type"] == "mrkdwn"
    assert ":x:" in text["text"]["text"] and "measure.load_test" in text["text"]["text"]
    assert fields["type"] == "section"
    assert {"type": "mrkdwn", "text": "*Environment*\nstaging"} in fields["fields"]
    assert actions["type"] == "actions"
    [button] = actions["elements"]
    assert button["type"] == "button" and button["url"] == notification.report_url
    assert button["text"] == {"type": "plain_text", "text": "Open the report"}


def test_a_header_is_cut_to_slacks_limit_and_no_button_without_a_report(policy: DeliveryPolicy) -> None:
    long = Notification("succeeded", "s", "e", "v", "x" * 300, "done", good=True)
    with http_receiver(200) as receiver:
        SlackNotifier(receiver.url(), policy).send(long)
    blocks = receiver.received[0].json()["blocks"]
    assert len(blocks[0]["text"]["text"]) == 150  # Slack refuses a header over 150 characters
    assert [b["type"] for b in blocks] == ["header", "section"]
