"""Microsoft Teams: a Workflows webhook ("Post to a channel when a webhook request is received")
posted an Adaptive Card.

Per Microsoft's documentation the body is a ``message`` whose one attachment has the content type
``application/vnd.microsoft.card.adaptive`` and the card as ``content`` (schema
``http://adaptivecards.io/schemas/adaptive-card.json``, version 1.4): text blocks, a ``FactSet``
and an ``Action.OpenUrl`` to the report. The workflow answers 202 Accepted.
"""

from __future__ import annotations

import json
from typing import Any

from bmad.adapters.notify.delivery import DeliveryPolicy, deliver
from bmad.adapters.notify.http_post import post
from bmad.ports.notifications import Notification

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
_COLOR = {True: "Good", False: "Attention", None: "Accent"}


def adaptive_card(notification: Notification) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": notification.title,
            "weight": "Bolder",
            "size": "Medium",
            "color": _COLOR[notification.good],
            "wrap": True,
        },
        {"type": "TextBlock", "text": notification.text, "wrap": True},
    ]
    if notification.facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in notification.facts]})
    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body}
    if notification.report_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": notification.report_url}]
    return card


def teams_payload(notification: Notification) -> dict[str, Any]:
    """The workflow webhook's message carrying the Adaptive Card of ``notification``."""
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": adaptive_card(notification),
    }
    return {"type": "message", "attachments": [attachment]}


class TeamsNotifier:
    def __init__(self, url: str, policy: DeliveryPolicy) -> None:
        self._url = url
        self._policy = policy

    def send(self, notification: Notification) -> int:
        body = json.dumps(teams_payload(notification)).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        return deliver(self._policy, lambda timeout: post("teams", self._url, body, headers, timeout))
