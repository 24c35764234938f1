"""A member's rights over her data (UK GDPR): a copy of everything, and erasure.

Every app that stores something about a member answers for it here, without this app
importing it: from its ``AppConfig.ready`` it registers what it adds to the export
(``register_export``) and what it erases (``register_erase``). Apps register in
``INSTALLED_APPS`` order (forum, then moderation), which is the lock order too: the forum's
eraser locks the member's threads, then her posts, then her user row; moderation's rows come
after; the accounts part runs last.

Erasure keeps the user row (content points at it, and ``accounts.identity`` shows an
inactive author as "Former member") but leaves nothing in it that names the person:
its email becomes ``erased-<id>@erased.invalid``, its display name "Former member", its
password unusable, its profile empty, and every session and allauth record of it is gone.
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import SESSION_KEY
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework import serializers

from accounts.identity import DEFAULT_NURSE_TITLE, FORMER_MEMBER
from accounts.models import Mute, User
from core.audit import audit_record
from core.models import AuditEntry

ERASED_DOMAIN = "erased.invalid"
REDACTED = "[erased]"

Exporter = Callable[[User], Any]
Eraser = Callable[..., None]


# --- Registries ---------------------------------------------------------------------------

_EXPORTS: dict[str, tuple[Exporter, type[serializers.Serializer] | None]] = {}
_ERASERS: list[Eraser] = []


def register_export(
    section: str, fn: Exporter, *, serializer: type[serializers.Serializer] | None = None
) -> None:
    """Add ``section`` to every member's export: ``fn(user)`` gives its rows.

    With ``serializer`` the rows (model instances or dicts) are rendered through it as a
    list, and the OpenAPI schema documents the section with it; without, ``fn`` returns
    data ready for JSON. Each ``fn`` costs a fixed number of queries, however much she wrote.
    """
    _EXPORTS[section] = (fn, serializer)


def register_erase(fn: Eraser) -> None:
    """``fn(user, *, delete_posts)`` erases what its app holds about ``user``.

    It runs inside ``member_erase``'s transaction, after the erasers registered before it.
    """
    if fn not in _ERASERS:
        _ERASERS.append(fn)


def export_sections() -> list[tuple[str, type[serializers.Serializer] | None]]:
    """The registered sections and their serializers, for the export's schema."""
    return [(section, serializer) for section, (_, serializer) in _EXPORTS.items()]


# --- Export -------------------------------------------------------------------------------


class ProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    title = serializers.CharField(source="public_title", allow_null=True)
    sign_off = serializers.CharField()
    email_on_reply = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    is_suspended = serializers.BooleanField()
    suspended_until = serializers.DateTimeField(allow_null=True)
    suspended_indefinitely = serializers.BooleanField()
    suspension_reason = serializers.CharField()
    is_premoderated = serializers.BooleanField()
    premoderated_until = serializers.DateTimeField(allow_null=True)
    premoderated_indefinitely = serializers.BooleanField()
    premoderation_reason = serializers.CharField()


class EmailAddressSerializer(serializers.Serializer):
    email = serializers.EmailField()
    verified = serializers.BooleanField()
    primary = serializers.BooleanField()


class MuteSerializer(serializers.Serializer):
    member_id = serializers.IntegerField(source="muted_id")
    display_name = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_display_name(self, mute: Mute) -> str:
        return mute.muted.display_name if mute.muted.is_active else FORMER_MEMBER


class AccountRecordSerializer(serializers.Serializer):
    """What staff recorded about the account (a suspension, a role change): never who."""

    action = serializers.CharField()
    reason = serializers.CharField()
    details = serializers.JSONField(source="data")
    created_at = serializers.DateTimeField()


def _email_addresses(user: User) -> QuerySet[EmailAddress]:
    return EmailAddress.objects.filter(user=user).order_by("-primary", "email")


def _mutes(user: User) -> QuerySet[Mute]:
    return Mute.objects.filter(user=user).select_related("muted").order_by("created_at", "id")


def _account_records(user: User) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.for_target(user).order_by("created_at", "id")


register_export("email_addresses", _email_addresses, serializer=EmailAddressSerializer)
register_export("mutes", _mutes, serializer=MuteSerializer)
register_export("account_records", _account_records, serializer=AccountRecordSerializer)


@transaction.atomic
def member_export(user: User) -> dict[str, Any]:
    """Everything Haven stores about ``user``, as JSON-ready data, read in one transaction.

    Her own words and records only: never another member's email, never who flagged her
    posts, never a staff member's name (staff appear by their title).
    """
    fresh = User.objects.get(pk=user.pk)
    export: dict[str, Any] = {
        "exported_at": serializers.DateTimeField().to_representation(timezone.now()),
        "profile": ProfileSerializer(fresh).data,
    }
    for section, (fn, serializer) in _EXPORTS.items():
        rows = fn(fresh)
        export[section] = serializer(rows, many=True).data if serializer else rows
    return export


def export_filename() -> str:
    """What a downloaded export is called: the API's and the page's alike."""
    return f"haven-export-{timezone.localdate():%Y-%m-%d}.json"


# --- Erasure ------------------------------------------------------------------------------


def erased_email(user: User) -> str:
    return f"erased-{user.pk}@{ERASED_DOMAIN}"


def check_erase_password(*, user: User, password: str) -> None:
    """Erasing is for the account holder: her password, typed again, says it is her."""
    if not password or not user.check_password(password):
        raise ValidationError({"password": "The password is not correct."})


def redact(text: str, words: Iterable[str]) -> str:
    """``text`` with every one of ``words`` (any case, as a whole word: "Ann" leaves
    "annual" alone) replaced by ``[erased]``."""
    for word in words:
        if word:
            pattern = rf"(?<!\w){re.escape(word)}(?!\w)"
            text = re.sub(pattern, REDACTED, text, flags=re.IGNORECASE)
    return text


def identifiers_of(user: User) -> list[str]:
    """What names a person in free text: her email addresses and her display name.

    Read before the user row is changed; erasers redact these from the records they keep.
    """
    emails = set(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    return sorted({user.email, user.display_name, *emails} - {""}, key=len, reverse=True)


def redact_field(rows: QuerySet[Any], field: str, words: list[str]) -> None:
    """Take her name out of ``field`` of every one of ``rows`` that names her (whoever wrote
    it: her own note, another member's, a moderator's); the rest of the text stays."""
    for pk, text in rows.filter(naming(field, words)).values_list("pk", field):
        if (redacted := redact(text, words)) != text:
            rows.model.objects.filter(pk=pk).update(**{field: redacted})


def naming(field: str, words: Iterable[str]) -> Q:
    """Rows whose ``field`` may name her (contains any of ``words``, any case), for
    ``redact`` to take her name out of what others wrote about her (a flag's note, a
    moderator's note or reason); rows where it was only part of a word stay as they are."""
    found = Q(pk__in=[])
    for word in words:
        found |= Q(**{f"{field}__icontains": word})
    return found


def redact_json(value: Any, words: Iterable[str]) -> Any:
    words = list(words)
    if isinstance(value, str):
        return redact(value, words)
    if isinstance(value, list):
        return [redact_json(item, words) for item in value]
    if isinstance(value, dict):
        return {redact(str(k), words): redact_json(v, words) for k, v in value.items()}
    return value


def sessions_end(user: User) -> int:
    """End every session of ``user``: browser cookies and headless session tokens alike.

    Both are Django sessions (``SESSION_ENGINE``, cached_db: rows in ``django_session`` and
    a copy in the cache). A session names its user only inside its signed data, so every
    stored session is read; an erasure is rare, and this is exact, expired sessions included.
    The cache copy goes through the session store, so no cached copy outlives its row.
    """
    store_class = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    ended = 0
    for key, data in Session.objects.values_list("session_key", "session_data").iterator(
        chunk_size=2000
    ):
        decoded = store_class().decode(data)
        if str(decoded.get(SESSION_KEY)) == str(user.pk):
            store_class(session_key=key).delete()
            ended += 1
    return ended


def audit_redact(entries: QuerySet[AuditEntry], words: list[str]) -> None:
    """Audit entries keep what happened, by ids; ``words`` (her identifiers) leave them."""
    for entry in entries:
        reason, data = redact(entry.reason, words), redact_json(entry.data, words)
        if (reason, data) != (entry.reason, entry.data):
            AuditEntry.objects.filter(pk=entry.pk).update(reason=reason, data=data)


def audit_about(model: type[Model], ids: Iterable[int]) -> QuerySet[AuditEntry]:
    """The audit entries whose target is one of these rows."""
    target_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    return AuditEntry.objects.filter(target_type=target_type, target_id__in=list(ids))


def _erase_account_records(user: User, words: list[str]) -> None:
    """Staff records about her, or of what she did, keep it by id; never her email or name."""
    audit_redact(
        AuditEntry.objects.filter(actor_id=user.pk)
        | audit_about(User, [user.pk])
        | AuditEntry.objects.filter(naming("reason", words)),
        words,
    )
    # The admin's own history of changes to her account names it by its display name.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).update(object_repr=FORMER_MEMBER, change_message="[]")


def _erase_account(user: User, words: list[str]) -> User | None:
    """The accounts part: the user row (None if a concurrent erasure got there first)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.erased_at is not None:
        return None
    Mute.objects.filter(Q(user=locked) | Q(muted=locked)).delete()
    EmailAddress.objects.filter(user=locked).delete()  # their confirmations go with them
    _erase_account_records(locked, words)
    locked.email = erased_email(locked)
    locked.display_name = FORMER_MEMBER
    locked.display_name_public = True
    locked.title = DEFAULT_NURSE_TITLE
    locked.sign_off = ""
    locked.suspended_until, locked.suspended_indefinitely = None, False
    locked.suspension_reason = ""
    locked.premoderated_until, locked.premoderated_indefinitely = None, False
    locked.premoderation_reason = ""
    locked.email_on_reply = False
    locked.is_active = locked.is_staff = locked.is_superuser = False
    locked.last_login = None
    locked.erased_at = timezone.now()
    locked.set_unusable_password()
    locked.save()
    locked.groups.clear()
    locked.user_permissions.clear()
    sessions_end(locked)
    return locked


@transaction.atomic
def member_erase(*, user: User, delete_posts: bool = False, actor: User | None = None) -> User:
    """Erase a member's personal data, in one transaction; the account can never be used again.

    Her posts stay, shown as "Former member", unless ``delete_posts``: then what she wrote
    as a member is removed as a deletion removes it (nurse answers and anything written
    under a staff title stay: that voice was never personal). Erasing an erased account
    changes nothing. ``actor``: the admin who erased her (None: she did it herself). The
    audit entry names no one: the account's id, and whether her posts went.
    """
    current = User.objects.get(pk=user.pk)
    if current.erased_at is not None:
        return current
    words = identifiers_of(current)
    for erase in _ERASERS:
        erase(current, delete_posts=delete_posts)
    erased = _erase_account(current, words)
    if erased is None:
        return User.objects.get(pk=user.pk)
    audit_record(
        actor=actor or erased,
        action="member_erased",
        target=erased,
        data={"delete_posts": delete_posts, "by": "admin" if actor else "self"},
    )
    return erased
