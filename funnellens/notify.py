"""E-mail delivery over SMTP, configured from the environment (off when SMTP_HOST is unset).

Variables: SMTP_HOST, SMTP_PORT (default 25, or 587 with SMTP_STARTTLS=true), SMTP_USER,
SMTP_PASSWORD, SMTP_STARTTLS (true/false, default false), SMTP_FROM (default
funnellens@localhost), FUNNELLENS_ALERT_TO (comma-separated recipients of failure alerts).
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str


def smtp_settings() -> SmtpSettings | None:
    """The SMTP settings, or None when SMTP is not configured."""
    host = os.environ.get("SMTP_HOST", "").strip()
    if not host:
        return None
    starttls = os.environ.get("SMTP_STARTTLS", "false").strip().lower() in {"1", "true", "yes"}
    port = int(os.environ.get("SMTP_PORT", "587" if starttls else "25"))
    return SmtpSettings(
        host=host,
        port=port,
        user=os.environ.get("SMTP_USER") or None,
        password=os.environ.get("SMTP_PASSWORD") or None,
        starttls=starttls,
        sender=os.environ.get("SMTP_FROM", "funnellens@localhost"),
    )


def recipients(variable: str = "FUNNELLENS_ALERT_TO") -> list[str]:
    return [a.strip() for a in os.environ.get(variable, "").split(",") if a.strip()]


def send_email(
    subject: str,
    text: str,
    to: Sequence[str],
    *,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    settings: SmtpSettings | None = None,
) -> bool:
    """Send one message; returns False (and sends nothing) when SMTP is not configured.

    ``attachments`` are (filename, bytes, mime type) triples, e.g. a PNG chart.
    """
    settings = settings or smtp_settings()
    if settings is None or not to:
        return False
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(to)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, payload, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    with smtplib.SMTP(settings.host, settings.port, timeout=30) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        smtp.send_message(msg)
    return True
