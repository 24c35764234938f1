from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.identity import DEFAULT_NURSE_TITLE, voice_of
from accounts.roles import Role
from accounts.validators import (
    DISPLAY_NAME_MAX,
    DISPLAY_NAME_MIN,
    display_name_format,
    display_name_skeleton_sql,
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # The whole address is folded: people type their email in any case.
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=self.normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email; shown to others only by ``display_name``."""

    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(
        max_length=DISPLAY_NAME_MAX,
        validators=[MinLengthValidator(DISPLAY_NAME_MIN), display_name_format],
        help_text="Public name shown on posts. 3 to 30 letters, digits, spaces, '_' or '-'.",
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    display_name_public = models.BooleanField(
        default=True,
        help_text=(
            "Others can see the display name: every member's and moderator's, and a nurse's "
            "while what she wrote as a member shows it. Set by role changes."
        ),
    )
    title = models.CharField(
        max_length=60,
        default=DEFAULT_NURSE_TITLE,
        help_text="Public title shown on a nurse's posts instead of any name.",
    )
    sign_off = models.CharField(
        max_length=200, blank=True, help_text="Optional sign-off appended to nurse answers."
    )
    suspended_until = models.DateTimeField(
        null=True, blank=True, help_text="While in the future, the member can read but not write."
    )
    suspended_indefinitely = models.BooleanField(
        default=False, help_text="Suspended until a moderator lifts it (no end date)."
    )
    suspension_reason = models.CharField(max_length=500, blank=True)
    premoderated_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While in the future, everything the member posts is held for approval.",
    )
    premoderated_indefinitely = models.BooleanField(
        default=False, help_text="In pre-moderation until a moderator releases the member."
    )
    premoderation_reason = models.CharField(max_length=500, blank=True)
    email_on_reply = models.BooleanField(
        default=True, help_text="Email me when someone replies in a thread I follow."
    )
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the Django admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the member's personal data was erased (the account cannot be used).",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            # Public names that look alike are one name. Nurses publish under their title, so
            # a nurse's display name is private, occupying nothing ("taken" never confirms
            # one), unless posts she wrote as a member still show it.
            models.UniqueConstraint(
                display_name_skeleton_sql("display_name"),
                condition=models.Q(display_name_public=True, erased_at__isnull=True),
                name="accounts_user_display_name_skeleton_unique",
                violation_error_message="This display name is already taken.",
            ),
            models.CheckConstraint(
                condition=models.Q(display_name_public=True)
                | models.Q(role=Role.NURSE)
                | models.Q(erased_at__isnull=False),
                name="accounts_user_only_nurses_names_private",
            ),
        ]
        indexes = [models.Index(fields=["role"], name="accounts_user_role_idx")]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        super().clean()
        self.email = type(self).objects.normalize_email(self.email)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_indefinitely or (
            self.suspended_until is not None and self.suspended_until > timezone.now()
        )

    @property
    def is_premoderated(self) -> bool:
        """Whether what the member posts now is held for a moderator's approval."""
        return self.premoderated_indefinitely or (
            self.premoderated_until is not None and self.premoderated_until > timezone.now()
        )

    @property
    def public_title(self) -> str | None:
        """The badge others see beside the display name; never a person's real name."""
        return voice_of(self).title or None


class Mute(models.Model):
    """A member chose not to see another member's posts: they come collapsed for her.

    Private to the member who mutes: nobody else, the muted member included, is told.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mutes")
    muted = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "muted"], name="accounts_mute_once"),
            models.CheckConstraint(
                condition=~models.Q(user=models.F("muted")), name="accounts_mute_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} mutes {self.muted_id}"
