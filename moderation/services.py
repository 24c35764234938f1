from datetime import date, datetime, tzinfo
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.identity import DEFAULT_NURSE_TITLE, voice_of
from accounts.models import User
from moderation.models import (
    InformationResource,
    ReviewDateAlert,
    SignpostingTemplate,
    SignpostingTemplateVersion,
    SupportService,
)
from moderation.signposting import check_template

# --- Support services and signposting ---------------------------------------------------------


def _when(moment: datetime | None, tz: tzinfo) -> str:
    """ "today at 9am", "Monday at 9am": how a person says when a service opens next."""
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    clock = f"{local:%I:%M%p}".lstrip("0").replace(":00", "").lower()
    today = timezone.localdate(timezone.now(), tz)
    if local.date() == today:
        return f"today at {clock}"
    if (local.date() - today).days == 1:
        return f"tomorrow at {clock}"
    return f"{local:%A} at {clock}"


def support_service_context(service: SupportService, *, now: datetime) -> dict[str, Any]:
    """A service as templates see it, computed for this moment (open now? when next?)."""
    hours = service.opening_hours
    tz = hours.time_zone if hours else timezone.get_current_timezone()
    return {
        "name": service.name,
        "description": service.description,
        "phone": service.phone,
        "relay_prefix": service.relay_prefix,
        "text_phone": f"{service.relay_prefix} {service.phone}".strip(),
        "email": service.email,
        "url": service.url,
        "notes": service.notes,
        "hours": hours.describe() if hours else "",
        "open_now": bool(hours and hours.is_open(now)),
        "next_opening": _when(hours.next_opening(now) if hours else None, tz),
    }


def signposting_context(*, now: datetime, nurse: User | None = None) -> dict[str, Any]:
    return {
        "services": {
            service.key: support_service_context(service, now=now)
            for service in SupportService.objects.all()
        },
        "nurse": {
            "title": voice_of(nurse).title if nurse else DEFAULT_NURSE_TITLE,
            "sign_off": nurse.sign_off if nurse else "",
        },
        "disclaimer_url": settings.HAVEN_DISCLAIMER_URL,
        "privacy_url": settings.HAVEN_PRIVACY_URL,
    }


@transaction.atomic
def signposting_template_save(
    *,
    key: str,
    name: str,
    kind: str,
    body: str,
    actor: User | None = None,
    position: int = 0,
    is_active: bool = True,
) -> SignpostingTemplate:
    """Create or edit a template; each change of text is kept as a new, immutable version.

    A template that refers to an unknown service or field is refused here, at save time.
    """
    body = body.strip()
    check_template(body, service_keys=set(SupportService.objects.values_list("key", flat=True)))
    template = SignpostingTemplate.objects.select_for_update().filter(key=key).first()
    if template is None:
        template = SignpostingTemplate(key=key)
    changed = template.pk is None or template.body != body
    template.name, template.kind, template.body = name, kind, body
    template.position, template.is_active = position, is_active
    if changed:
        template.version += 1
    template.full_clean(exclude=["version"], validate_unique=False)
    template.save()
    if changed:
        SignpostingTemplateVersion.objects.create(
            template=template, version=template.version, body=body, created_by=actor
        )
    return template


def resources_overdue_alert(*, today: date | None = None) -> int:
    """Tell the admins which information pages are past their review date: one email a day.

    The day is claimed by a committed row first, so two overlapping beats (or a re-run) send
    it once; the email leaves outside the transaction and, if the mail server refuses it, the
    claim is withdrawn so a later run sends it. A worker dying between the two leaves that
    day's alert unsent: the next day's names the same pages.
    """
    today = today or timezone.localdate()
    overdue = list(
        InformationResource.objects.filter(next_review_due__lt=today).order_by("next_review_due")
    )
    admins = list(
        User.objects.filter(is_superuser=True, is_active=True).values_list("email", flat=True)
    )
    if not overdue or not admins:
        return 0
    try:
        with transaction.atomic():
            claim = ReviewDateAlert.objects.create(day=today)
    except IntegrityError:
        return 0  # another beat (or an earlier run) sent today's
    lines = [f"- {r.title}: review was due {r.next_review_due:%-d %B %Y}" for r in overdue]
    try:
        send_mail(
            subject=f"[Haven] {len(overdue)} information page(s) past their review date",
            message="These pages are flagged in the nurses' signpost picker until reviewed:\n\n"
            + "\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=admins,
        )
    except BaseException:
        claim.delete()
        raise
    return len(overdue)


KeyedModel = TypeVar("KeyedModel", SupportService, InformationResource)


def _keyed_ensure(model: type[KeyedModel], key: str, fields: dict[str, Any]) -> KeyedModel:
    row = model.objects.select_for_update().filter(key=key).first() or model(key=key)
    for name, value in fields.items():
        setattr(row, name, value)
    row.full_clean(validate_unique=False)
    row.save()
    return row


@transaction.atomic
def support_service_ensure(*, key: str, **fields: Any) -> SupportService:
    """Create or update a support service (seed data, operators); its hours are validated."""
    return _keyed_ensure(SupportService, key, fields)


@transaction.atomic
def information_resource_ensure(*, key: str, **fields: Any) -> InformationResource:
    """Create or update an information page a nurse can signpost."""
    return _keyed_ensure(InformationResource, key, fields)
