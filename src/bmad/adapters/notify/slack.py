"""Slack: an incoming webhook (``https://hooks.slack.com/services/...``) posted a Block Kit message.

Per Slack's documentation the body is JSON with ``text`` (the fallback shown in notifications)
and ``blocks``: a ``header``, a ``section`` of mrkdwn text, a ``section`` of ``fields`` and, when
there is a report, an ``actions`` block with a link button. Slack answers 200 ``ok``.
"""

from __future__ import annotations

import json
from typing import Any

from bmad.adapters.notify.delivery import DeliveryPolicy, deliver
from bmad.adapters.notify.http_post import post
from bmad.ports.notifications import Notification

_MARK = {True: ":white_check_mark:", False: ":x:", None: ":rocket:"}


def slack_payload(notification: Notification) -> dict[str, Any]:
    """The Block Kit message of ``notification``."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": notification.title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{_MARK[notification.good]} {notification.text}"}},
    ]
    if notification.facts:
        fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in notification.facts[:10]]
        blocks.append({"type": "section", "fields": fields})
    if notification.report_url:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open the report"}}
        blocks.append({"type": "actions", "elements": [{**button, "url": notification.report_url}]})
    return {"text": f"{notification.title}: {notification.text}", "blocks": blocks}


class SlackNotifier:
    def __init__(self, url: str, policy: DeliveryPolicy) -> None:
        self._url = url
        self._policy = policy

    def send(self, notification: Notification) -> int:
        body = json.dumps(slack_payload(notification)).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        return deliver(self._policy, lambda timeout: post("slack", self._url, body, headers, timeout))
