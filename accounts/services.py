"""Every write to accounts goes through here."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.identity import MODERATOR_TITLE, voice_of
from accounts.models import Mute, User
from accounts.permissions import check_can_write
from accounts.roles import ROLE_GROUPS, Role
from accounts.validators import (
    RESERVED_MESSAGE,
    display_name_skeleton,
    display_name_skeleton_sql,
    looks_like,
    normalise_display_name,
    validate_member_display_name,
)
from core.audit import audit_record, clean_reason
from core.errors import Conflict, Forbidden

TAKEN = {
    "email": "An account with this email address already exists.",
    "display_name": "This display name is already taken.",
}


def unique_violation_field(exc: IntegrityError) -> str | None:
    """Which unique field of User a concurrent write collided on, if any."""
    message = str(exc)
    for field in ("display_name", "email"):
        if f"accounts_user_{field}" in message:
            return field
    return None


def _save_unique(user: User, **kwargs: Any) -> None:
    """Save; a concurrent taker of the same email or name becomes a field error, not a 500.

    The checks before the save make this rare; the database constraint makes it exact.
    """
    try:
        with transaction.atomic():
            user.save(**kwargs)
    except IntegrityError as exc:
        field = unique_violation_field(exc)
        if field is None:
            raise
        raise ValidationError({field: TAKEN[field]}) from exc


def _check_display_name_free(display_name: str, *, exclude: User | None = None) -> None:
    """No other public name (``User.display_name_public``) looks like this one.

    A nurse's display name is private (she publishes under her title) and occupies no
    member's namespace, so "taken" never confirms that a nurse is called something; unless
    posts she wrote as a member still show it, and then it is as taken as anyone's.
    """
    taken = User.objects.alias(skeleton=display_name_skeleton_sql("display_name")).filter(
        skeleton=display_name_skeleton(display_name), display_name_public=True
    )
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ValidationError({"display_name": TAKEN["display_name"]})


# Whether content shows someone's display name (what she wrote as a member), answered by
# the apps above that hold content (the forum), registered in their AppConfig.ready().
_NAME_SHOWN_BY: list[Callable[[User], bool]] = []


def register_name_shown_by(shows_name: Callable[[User], bool]) -> None:
    """Let an app above this one say whether its content shows a user's display name."""
    _NAME_SHOWN_BY.append(shows_name)


# What apps above this one show of a member by her live name (the forum's posts and threads,
# whose cached pages must move on), told when that name or whether it shows changes: called
# with her id in the transaction that changes it, before her row is locked (the lock order
# is content first, user rows after). Registered in their AppConfig.ready().
_SHOWN_NAME_CHANGED: list[Callable[[int], object]] = []


def register_shown_name_changed(hook: Callable[[int], object]) -> None:
    """``hook(user_id)`` runs whenever what content shows as a member's name changes: her
    display name, or her account ceasing (or starting again) to be active."""
    if hook not in _SHOWN_NAME_CHANGED:
        _SHOWN_NAME_CHANGED.append(hook)


def shown_name_changed(user_id: int) -> None:
    """Tell the apps above that ``user_id``'s name shows differently now (see above)."""
    for hook in _SHOWN_NAME_CHANGED:
        hook(user_id)


def staff_titles() -> list[str]:
    """Every title staff publish under: the nurses' titles and the moderators' badge."""
    nurses = User.objects.filter(role=Role.NURSE).only("role", "title")
    return sorted({voice_of(nurse).title for nurse in nurses} | {MODERATOR_TITLE})


def check_member_display_name(display_name: str, *, user: User | None = None) -> str:
    """A name a member may take: not the team's words or a staff title, not another's name.

    Names are compared by skeleton (``display_name_skeleton``), so "Breast Care Nurs3"
    is a staff title and "B0nnie52" is Bonnie52. Returns the name as it is stored.
    """
    display_name = normalise_display_name(display_name)
    validate_member_display_name(display_name)
    if looks_like(display_name, staff_titles()):
        raise ValidationError(RESERVED_MESSAGE, code="reserved")
    if user is not None and not user.display_name_public:
        return display_name  # a nurse's private name: it takes nobody's place
    try:
        _check_display_name_free(display_name, exclude=user)
    except ValidationError as exc:
        raise ValidationError(TAKEN["display_name"], code="taken") from exc
    return display_name


@transaction.atomic
def user_create(
    *,
    email: str,
    display_name: str,
    password: str | None,
    role: Role = Role.MEMBER,
    verified: bool = False,
    is_staff: bool = False,
    is_superuser: bool = False,
    sign_off: str = "",
    actor: User | None = None,
) -> User:
    """Create an account the way an operator does (commands, seed data).

    Members sign themselves up through allauth instead; both paths end with one user, one
    primary email address, and the role's group.
    """
    user = User(
        email=User.objects.normalize_email(email),
        display_name=normalise_display_name(display_name),
        is_staff=is_staff or is_superuser,
        is_superuser=is_superuser,
        sign_off=sign_off.strip(),
    )
    _check_display_name_free(user.display_name)
    user.full_clean(exclude=["password"], validate_constraints=False)
    if password is None:
        user.set_unusable_password()
    else:
        validate_password(password, user)
        user.set_password(password)
    _save_unique(user)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
    if role != Role.MEMBER:
        user_set_role(user=user, role=role, actor=actor)
    return user


def check_role_change(*, user: User, role: Role | str, display_name: str | None = None) -> None:
    """What ``user_set_role`` refuses: an unknown role, or a private name going public (a
    nurse leaving the role) that looks like another's. ``display_name``: the name she is
    given in the same change, if any."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; choose one of {Role.values}."})
    if role != Role.NURSE and not user.display_name_public:
        try:
            _check_display_name_free(display_name or user.display_name, exclude=user)
        except ValidationError as exc:
            raise ValidationError(
                {
                    "display_name": "Another account's display name looks like this one: "
                    "rename this account before changing its role."
                }
            ) from exc


@transaction.atomic
def user_set_role(*, user: User, role: Role | str, actor: User | None = None) -> User:
    """Give a user exactly one role: its group joined, every other role group left.

    The change is recorded in the audit log. A nurse's display name is private while she
    is one, unless what she wrote as a member shows it: then it stays public, and taken,
    for as long as that content does. Leaving the role makes a private name public, so it
    must then look like no one else's.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    check_role_change(user=locked, role=role)
    previous = locked.role
    locked.role = Role(role)
    if locked.role != Role.NURSE:
        locked.display_name_public = True
    elif previous != Role.NURSE:
        locked.display_name_public = any(shows(locked) for shows in _NAME_SHOWN_BY)
    locked.save(update_fields=["role", "display_name_public"])
    role_groups = Group.objects.filter(name__in=ROLE_GROUPS.values())
    locked.groups.remove(*role_groups)
    if group_name := ROLE_GROUPS.get(locked.role):
        locked.groups.add(Group.objects.get(name=group_name))
    if previous != locked.role:
        audit_record(
            actor=actor,
            action="role_changed",
            target=locked,
            data={"from": previous, "to": locked.role},
        )
    user.role, user.display_name_public = locked.role, locked.display_name_public
    # Django caches permissions per instance; the caller's copy must see the new ones.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return user


@transaction.atomic
def user_update_profile(
    *,
    user: User,
    display_name: str | None = None,
    sign_off: str | None = None,
    email_on_reply: bool | None = None,
) -> User:
    """What a member may change about themselves: public name, email preference, a nurse's sign-off.

    Turning reply emails off only reduces what the member receives, so it is allowed even
    while suspended or unverified; any other change needs a member who may write, and a
    request that mixes the two is refused whole. Email and password change through
    allauth's own flows, which re-verify them.
    """
    if display_name is not None or sign_off is not None or email_on_reply:
        check_can_write(user)
    shown: str | None = None
    if display_name is not None:
        display_name = normalise_display_name(display_name)
        # Content first, her row after (the lock order): a rename is announced before the
        # lock, from the name as it is now, and never after it (threads after her row would
        # reverse the order).
        shown = User.objects.filter(pk=user.pk).values_list("display_name", flat=True).first()
        if display_name != shown:
            shown_name_changed(user.pk)
    locked = User.objects.select_for_update().get(pk=user.pk)
    update_fields = []
    if display_name is not None and display_name == shown != locked.display_name:
        # Another rename committed since: this request, which asked for no new name, is
        # taken as having come first, and the other's name stays (announced by it).
        display_name = None
    if display_name is not None:
        # Only a new look is checked: "SPARROWHAWK" is still Sparrowhawk.
        if display_name_skeleton(display_name) != display_name_skeleton(locked.display_name):
            try:
                display_name = check_member_display_name(display_name, user=locked)
            except ValidationError as exc:
                raise ValidationError({"display_name": exc.messages}) from exc
        locked.display_name = display_name
        update_fields.append("display_name")
    if sign_off is not None:
        if locked.role != Role.NURSE:
            raise ValidationError({"sign_off": "Only nurses sign their answers."})
        locked.sign_off = sign_off.strip()
        update_fields.append("sign_off")
    if email_on_reply is not None:
        locked.email_on_reply = email_on_reply
        update_fields.append("email_on_reply")
    if update_fields:
        locked.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
        _save_unique(locked, update_fields=update_fields)
    return locked


# --- Mutes ----------------------------------------------------------------------------------
#
# "Manage what you see": a member mutes another, whose posts then come collapsed for her
# alone. Nobody else is told. Suspended or unverified members may mute and unmute too.


@transaction.atomic
def member_mute(*, user: User, muted: User) -> None:
    """Mute a member (``accounts.selectors.member_mutable`` found her). Twice is once.

    Nobody mutes herself (403 ``own_account``); staff write as their role and are never
    muted (the selector answers 404 for them, as for anyone unknown).
    """
    if muted.pk == user.pk:
        raise Forbidden("own_account", "You can't mute yourself.")
    Mute.objects.bulk_create([Mute(user=user, muted=muted)], ignore_conflicts=True)


@transaction.atomic
def member_unmute(*, user: User, muted_id: int) -> None:
    """Show a member's posts again. Unmuting someone not muted changes nothing."""
    Mute.objects.filter(user=user, muted_id=muted_id).delete()


# --- Suspension and pre-moderation (moderators) -----------------------------------------------
#
# A suspended member reads but does not write (``check_can_write``); a member in
# pre-moderation has everything she posts held for approval. Either lasts until a date, or
# until lifted (``until`` None). Both end by time alone: no job has to run. Staff and one's
# own account are never restricted. The permission belongs to the top app
# (``moderation.suspend_member``); it is named here as a string.

SUSPEND_PERMISSION = "moderation.suspend_member"


def check_may_restrict(*, actor: User, member: User) -> None:
    check_can_write(actor)
    if not actor.has_perm(SUSPEND_PERMISSION):
        raise Forbidden("not_moderator", "Only moderators suspend or pre-moderate members.")
    if member.pk == actor.pk:
        raise Forbidden("own_account", "You cannot restrict your own account.")
    if member.role != Role.MEMBER or member.is_staff or member.is_superuser:
        raise Forbidden("staff_member", "Staff accounts are not suspended or pre-moderated.")
    if member.erased_at is not None:
        raise Conflict("erased", "This account has been erased.")


def _clean_until(until: datetime | None) -> datetime | None:
    if until is not None and until <= timezone.now():
        raise ValidationError({"until": "The end must be in the future (or empty: no end)."})
    return until


def _lock_member(*, actor: User, member: User) -> User:
    check_may_restrict(actor=actor, member=member)
    locked = User.objects.select_for_update().get(pk=member.pk)
    check_may_restrict(actor=actor, member=locked)  # the role may have changed meanwhile
    return locked


@dataclass(frozen=True)
class _Restriction:
    """A restriction's three fields on the user row, how it shows in force, and its audit."""

    prefix: str  # suspended_until / suspended_indefinitely, premoderated_…
    reason_field: str
    in_force: Callable[[User], bool]
    started: str
    ended: str
    not_in_force: tuple[str, str]  # the 409's code and message

    @property
    def fields(self) -> list[str]:
        return [f"{self.prefix}_until", f"{self.prefix}_indefinitely", self.reason_field]


_SUSPENSION = _Restriction(
    prefix="suspended",
    reason_field="suspension_reason",
    in_force=lambda user: user.is_suspended,
    started="member_suspended",
    ended="member_unsuspended",
    not_in_force=("not_suspended", "This member is not suspended."),
)
_PREMODERATION = _Restriction(
    prefix="premoderated",
    reason_field="premoderation_reason",
    in_force=lambda user: user.is_premoderated,
    started="member_premoderated",
    ended="member_released",
    not_in_force=("not_premoderated", "This member is not in pre-moderation."),
)


def _restriction_set(
    kind: _Restriction, *, actor: User, member: User, until: datetime | None, reason: str
) -> User:
    """Start a restriction until ``until`` (a future time; None: no end), replacing the one
    in force; the member row locked, the change audited."""
    until, reason = _clean_until(until), clean_reason(reason)
    locked = _lock_member(actor=actor, member=member)
    values = [until, until is None, reason]
    for name, value in zip(kind.fields, values, strict=True):
        setattr(locked, name, value)
        setattr(member, name, value)
    locked.save(update_fields=kind.fields)
    audit_record(
        actor=actor,
        action=kind.started,
        target=locked,
        reason=reason,
        data={"until": until.isoformat() if until else None},
    )
    return member


def _restriction_lift(kind: _Restriction, *, actor: User, member: User, reason: str) -> User:
    reason = clean_reason(reason)
    locked = _lock_member(actor=actor, member=member)
    if not kind.in_force(locked):
        raise Conflict(*kind.not_in_force)
    for name, value in zip(kind.fields, [None, False, ""], strict=True):
        setattr(locked, name, value)
        setattr(member, name, value)
    locked.save(update_fields=kind.fields)
    audit_record(actor=actor, action=kind.ended, target=locked, reason=reason)
    return member


@transaction.atomic
def member_suspend(*, actor: User, member: User, until: datetime | None, reason: str = "") -> User:
    """Suspend a member until ``until`` (None: until lifted), audited. A new suspension
    replaces the one in force."""
    return _restriction_set(_SUSPENSION, actor=actor, member=member, until=until, reason=reason)


@transaction.atomic
def member_unsuspend(*, actor: User, member: User, reason: str = "") -> User:
    """Lift a suspension in force (409 ``not_suspended`` otherwise), audited."""
    return _restriction_lift(_SUSPENSION, actor=actor, member=member, reason=reason)


@transaction.atomic
def member_premoderate(
    *, actor: User, member: User, until: datetime | None, reason: str = ""
) -> User:
    """Hold everything a member posts for approval until ``until`` (None: until released)."""
    return _restriction_set(_PREMODERATION, actor=actor, member=member, until=until, reason=reason)


@transaction.atomic
def member_release(*, actor: User, member: User, reason: str = "") -> User:
    """Release a member from pre-moderation in force (409 ``not_premoderated`` otherwise)."""
    return _restriction_lift(_PREMODERATION, actor=actor, member=member, reason=reason)
