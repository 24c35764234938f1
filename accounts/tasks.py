from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


@shared_task(
    acks_late=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=10,
    retry_backoff_max=600,
    max_retries=8,
)
def send_account_email(message: dict[str, Any]) -> None:
    """Deliver an already-rendered account email (verification, password reset)."""
    email = EmailMultiAlternatives(
        subject=message["subject"],
        body=message["body"],
        from_email=message["from_email"],
        to=message["to"],
        headers=message.get("headers") or {},
    )
    for content, mimetype in message.get("alternatives", []):
        email.attach_alternative(content, mimetype)
    email.send()
