"""Microsoft Teams: an Adaptive Card posted to a Workflows webhook (the shape Microsoft documents)."""

from __future__ import annotations

from bmad.adapters.notify import DeliveryPolicy
from bmad.adapters.notify.teams import CARD_SCHEMA, TeamsNotifier
from bmad.ports.notifications import Notification
from tests.notifications.receivers import http_receiver


def test_the_message_carries_one_adaptive_card_and_202_is_success(
    notification: Notification, policy: DeliveryPolicy
) -> None:
    with http_receiver(202) as receiver:  # a workflow webhook answers 202 Accepted
        attempts = TeamsNotifier(receiver.url("/workflows/abc/triggers/manual/paths/invoke"), policy).send(notification)
    assert attempts == 1
    body = receiver.received[0].json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["$schema"] == CARD_SCHEMA == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    title, text, facts = card["body"]
    assert title["type"] == "TextBlock" and title["text"] == notification.title and title["weight"] == "Bolder"
    assert title["color"] == "Attention"
    assert text == {"type": "TextBlock", "text": notification.text, "wrap": True}
    assert facts["type"] == "FactSet" and {"title": "Version", "value": "0123456"} in facts["facts"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the report", "url": notification.report_url}]
