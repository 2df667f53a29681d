"""E-mail: a plain-text message over SMTP, upgraded with STARTTLS before any login.

The server's certificate is verified against the system's CAs or the channel's ``ca_file``. SMTP
4xx answers, timeouts and refused connections are temporary (retried); 5xx answers, a server
without STARTTLS and a certificate that does not verify are not.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from bmad.adapters.notify.delivery import AttemptFailed, DeliveryPolicy, deliver
from bmad.core.datatypes import datatype
from bmad.ports.notifications import Notification


@datatype(frozen=True)
class SmtpSettings:
    """Where and how a channel's e-mail is sent: the SMTP server, the addresses and the login."""

    host: str
    port: int
    from_address: str
    to: tuple[str, ...]
    starttls: bool = True
    ca_file: str | None = None
    username: str | None = None
    password: str | None = None


def email_message(notification: Notification, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = notification.title
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    lines = [notification.text, ""]
    lines += [f"{label}: {value}" for label, value in notification.facts]
    if notification.report_url:
        lines += ["", f"Report: {notification.report_url}"]
    message.set_content("\n".join(lines) + "\n")
    return message


class EmailNotifier:
    def __init__(self, settings: SmtpSettings, policy: DeliveryPolicy) -> None:
        self._settings = settings
        self._policy = policy

    def send(self, notification: Notification) -> int:
        settings = self._settings
        message = email_message(notification, settings.from_address, settings.to)
        return deliver(self._policy, lambda timeout: self._attempt(message, timeout))

    def _attempt(self, message: EmailMessage, timeout: float) -> None:
        try:
            self._transmit(message, timeout)
        except smtplib.SMTPNotSupportedError:
            raise AttemptFailed("the SMTP server does not offer STARTTLS", temporary=False) from None
        except smtplib.SMTPResponseException as exc:
            raise AttemptFailed(f"SMTP {exc.smtp_code}", temporary=400 <= exc.smtp_code < 500) from None
        except ssl.SSLError as exc:
            raise AttemptFailed(f"TLS failed: {exc.reason or 'handshake'}", temporary=False) from None
        except TimeoutError:
            raise AttemptFailed(f"no answer within {timeout:.3g} s", temporary=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise AttemptFailed(f"could not deliver ({type(exc).__name__})", temporary=True) from None

    def _transmit(self, message: EmailMessage, timeout: float) -> None:
        settings = self._settings
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=settings.ca_file))
            if settings.username is not None and settings.password is not None:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
