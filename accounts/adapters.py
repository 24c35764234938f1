from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.core import context
from django.contrib.sites.shortcuts import get_current_site
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpRequest

from accounts.models import User
from accounts.tasks import send_account_email
from core.jobs import enqueue_on_commit


class AccountAdapter(DefaultAccountAdapter):
    def save_user(
        self, request: HttpRequest, user: Any, form: BaseForm, commit: bool = True
    ) -> User:
        # The display name is unique and required, so it is set before the first save.
        user.display_name = form.cleaned_data["display_name"]
        # A savepoint: if a concurrent sign-up took the name or email, only this save is
        # undone (HeadlessErrorMiddleware answers 400), never an enclosing transaction.
        with transaction.atomic():
            saved: User = super().save_user(request, user, form, commit)
        return saved

    def send_confirmation_mail(
        self, request: HttpRequest, emailconfirmation: EmailConfirmation, signup: bool
    ) -> None:
        """An address that belongs to another account is never sent a verification link.

        allauth (preventing enumeration) answers a member who adds someone else's address
        exactly as for a free one, and stores it unverified; it would then mail the owner a
        link that verifies it for the wrong account. The owner is told instead, and with
        no link the address can never be verified here: the answer stays the same, so
        nothing is enumerated.
        """
        address = emailconfirmation.email_address
        if not signup and _belongs_to_another_account(address):
            self.send_mail("account/email/address_in_use", address.email, {})
            return
        super().send_confirmation_mail(request, emailconfirmation, signup)

    def send_mail(self, template_prefix: str, email: str, context_: dict[str, Any]) -> None:
        """Render now (the request is here), deliver from a Celery job after the commit.

        A slow or failing mail server never holds up sign-up; if the broker is down the
        email is sent in-process instead, so nobody waits for a verification link in vain.
        """
        request = context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context_)
        msg = self.render_mail(template_prefix, email, ctx)
        message = {
            "subject": msg.subject,
            "body": msg.body,
            "from_email": msg.from_email,
            "to": list(msg.to),
            "headers": dict(msg.extra_headers),
            "alternatives": [list(alt) for alt in getattr(msg, "alternatives", [])],
        }
        enqueue_on_commit(send_account_email, message, inline_if_broker_down=True)


def _belongs_to_another_account(address: EmailAddress) -> bool:
    email = User.objects.normalize_email(address.email)
    others = EmailAddress.objects.filter(email__iexact=email).exclude(user_id=address.user_id)
    return others.exists() or User.objects.filter(email=email).exclude(pk=address.user_id).exists()
