"""E-mail over SMTP with STARTTLS, against aiosmtpd with a self-signed certificate made in the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmad.adapters.notify import DeliveryPolicy
from bmad.adapters.notify.email import EmailNotifier, SmtpSettings
from bmad.ports.notifications import DeliveryFailed, Notification
from tests.notifications.receivers import self_signed_cert, smtp_receiver


def settings(port: int, ca_file: Path) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=port,
        from_address="bmad@example.invalid",
        to=("ops@example.invalid", "dev@example.invalid"),
        ca_file=str(ca_file),
        username="bmad",
        password="mail-Pa55word-77",
    )


def test_the_mail_goes_over_starttls_and_logs_in_only_once_encrypted(
    tmp_path: Path, notification: Notification, policy: DeliveryPolicy
) -> None:
    with smtp_receiver(tmp_path) as server:
        attempts = EmailNotifier(settings(server.port, server.cert), policy).send(notification)
    assert attempts == 1
    assert server.logins == [("bmad", "mail-Pa55word-77")] and server.tls_at_login == [True]
    [envelope] = server.messages
    assert envelope.mail_from == "bmad@example.invalid"
    assert envelope.rcpt_tos == ["ops@example.invalid", "dev@example.invalid"]
    text = envelope.content.decode()
    assert f"Subject: {notification.title}" in text
    assert "Report: https://reports.example.com/hello/staging/0123456/report.html" in text
    assert "Environment: staging" in text


def test_a_certificate_that_does_not_verify_is_not_retried(
    tmp_path: Path, notification: Notification, policy: DeliveryPolicy
) -> None:
    (tmp_path / "other").mkdir()
    other_ca, _ = self_signed_cert(tmp_path / "other")  # a certificate the server does not use
    with smtp_receiver(tmp_path) as server, pytest.raises(DeliveryFailed) as failed:
        EmailNotifier(settings(server.port, other_ca), policy).send(notification)
    assert failed.value.reason.startswith("TLS failed") and failed.value.attempts == 1
    assert server.logins == [] and server.messages == []
