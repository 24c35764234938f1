from collections.abc import Callable
from typing import Any

from allauth.account.models import EmailAddress
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from accounts.forms import AdminLoginForm
from accounts.models import User
from accounts.privacy import member_erase
from accounts.services import (
    SUSPEND_PERMISSION,
    check_role_change,
    member_premoderate,
    member_release,
    member_suspend,
    member_unsuspend,
    shown_name_changed,
    user_set_role,
)
from core.admin import ReasonForm, ask_then_apply

admin.site.login_form = AdminLoginForm


class EmailAddressInline(admin.TabularInline):
    model = EmailAddress
    extra = 0
    fields = ("email", "primary", "verified")


class VerifiedFilter(admin.SimpleListFilter):
    title = "email verified"
    parameter_name = "verified"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Verified"), ("no", "Not verified")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        verified = Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True))
        if self.value() == "yes":
            return queryset.filter(verified)
        if self.value() == "no":
            return queryset.filter(~verified)
        return queryset


class UserChangeForm(DjangoUserChangeForm):
    def clean(self) -> dict[str, Any]:
        """A role change ``user_set_role`` would refuse is an error on the form."""
        cleaned = super().clean() or self.cleaned_data
        if "role" in self.changed_data and "role" in cleaned:
            check_role_change(
                user=self.instance, role=cleaned["role"], display_name=cleaned.get("display_name")
            )
        return cleaned


class RestrictForm(ReasonForm):
    """The reason and the end of a suspension or of pre-moderation."""

    until = forms.DateTimeField(
        required=False, help_text="Empty: until a moderator lifts it. Otherwise a future time."
    )

    def clean_until(self) -> Any:
        until = self.cleaned_data.get("until")
        if until is not None and until <= timezone.now():
            raise ValidationError("The end must be in the future (or empty: no end).")
        return until


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Roles are edited as one field and applied by ``user_set_role`` (groups follow)."""

    form = UserChangeForm

    list_display = (
        "email",
        "display_name",
        "role",
        "email_verified",
        "is_staff",
        "suspended_until",
        "date_joined",
    )
    list_filter = ("role", VerifiedFilter, "is_staff", "is_superuser", "is_active")
    search_fields = ("email", "display_name")
    ordering = ("-date_joined",)
    readonly_fields = (
        "date_joined",
        "last_login",
        "groups",
        "suspended_until",
        "suspended_indefinitely",
        "suspension_reason",
        "premoderated_until",
        "premoderated_indefinitely",
        "premoderation_reason",
    )
    inlines = [EmailAddressInline]
    actions = ["erase_members", "suspend", "unsuspend", "premoderate", "release"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Public profile", {"fields": ("display_name", "role", "title", "sign_off")}),
        (
            "Suspension and pre-moderation (changed by the actions of the list, audited)",
            {
                "fields": (
                    ("suspended_until", "suspended_indefinitely"),
                    "suspension_reason",
                    ("premoderated_until", "premoderated_indefinitely"),
                    "premoderation_reason",
                )
            },
        ),
        (
            "Admin access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups")},
        ),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "password1", "password2"),
            },
        ),
    )

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A sign-off runs over several lines; a one-line input would flatten it on save.
        if db_field.name == "sign_off":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3, "cols": 60})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
        return super().get_queryset(request).annotate(email_verified=Exists(verified))

    @admin.display(boolean=True, ordering="email_verified")
    def email_verified(self, obj: User) -> bool:
        return bool(getattr(obj, "email_verified", False))

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        new_role = obj.role
        if change and {"display_name", "is_active"} & set(form.changed_data):
            shown_name_changed(obj.pk)  # before her row is written: content first
        if change and "role" in form.changed_data:
            obj.role = form.initial["role"]
        super().save_model(request, obj, form, change)
        if obj.role != new_role:
            user_set_role(user=obj, role=new_role, actor=request.user)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        """Her name leaves every thread showing it: they move on first (content first)."""
        shown_name_changed(obj.pk)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """As ``delete_model``, for each of them, in id order, before any row is deleted."""
        for user_id in queryset.order_by("pk").values_list("pk", flat=True):
            shown_name_changed(user_id)
        super().delete_queryset(request, queryset)

    @admin.action(description="Erase selected members", permissions=["erase"])
    def erase_members(
        self, request: HttpRequest, queryset: QuerySet[User]
    ) -> TemplateResponse | None:
        """``member_erase`` for each, after a confirmation page that chooses the posts' fate.

        Audited per member ("member_erased", by id only). An admin never erases herself
        here: she does that from her own account, with her password.
        """
        members = list(queryset.filter(erased_at__isnull=True).order_by("pk"))
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(
                request,
                "admin/accounts/user/erase_selected_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Erase members",
                    "members": members,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "changelist_url": reverse("admin:accounts_user_changelist"),
                    "opts": self.model._meta,
                },
            )
        delete_posts = request.POST.get("delete_posts") == "on"
        erased = 0
        for member in members:
            if member.pk == request.user.pk:
                self.message_user(
                    request, "You cannot erase your own account here.", messages.WARNING
                )
                continue
            member_erase(user=member, delete_posts=delete_posts, actor=request.user)  # type: ignore[arg-type]
            erased += 1
        self.message_user(request, f"{erased} member(s) erased.", messages.SUCCESS)
        return None

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    # --- Moderators' actions: the same services as the API, audited with the acting admin ---

    def has_restrict_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SUSPEND_PERMISSION)

    def _restrict(
        self,
        request: HttpRequest,
        members: QuerySet[User],
        *,
        title: str,
        explanation: str,
        service: Callable[..., User],
        with_until: bool,
    ) -> TemplateResponse | None:
        """A page asks the reason (and the end); applying runs the service for each member."""
        return ask_then_apply(
            self,
            request,
            members,
            title=title,
            explanation=explanation,
            form_class=RestrictForm if with_until else ReasonForm,
            apply=service,
            target="member",
        )

    @admin.action(description="Suspend…", permissions=["restrict"])
    def suspend(self, request: HttpRequest, members: QuerySet[User]) -> TemplateResponse | None:
        return self._restrict(
            request,
            members,
            title="Suspend",
            explanation="Suspended members can read the forum but not post or change it.",
            service=member_suspend,
            with_until=True,
        )

    @admin.action(description="Unsuspend…", permissions=["restrict"])
    def unsuspend(self, request: HttpRequest, members: QuerySet[User]) -> TemplateResponse | None:
        return self._restrict(
            request,
            members,
            title="Unsuspend",
            explanation="Lift the suspension of these members.",
            service=member_unsuspend,
            with_until=False,
        )

    @admin.action(description="Put into pre-moderation…", permissions=["restrict"])
    def premoderate(self, request: HttpRequest, members: QuerySet[User]) -> TemplateResponse | None:
        return self._restrict(
            request,
            members,
            title="Put into pre-moderation",
            explanation="Everything these members post waits for a moderator's approval.",
            service=member_premoderate,
            with_until=True,
        )

    @admin.action(description="Release from pre-moderation…", permissions=["restrict"])
    def release(self, request: HttpRequest, members: QuerySet[User]) -> TemplateResponse | None:
        return self._restrict(
            request,
            members,
            title="Release from pre-moderation",
            explanation="These members' posts are published at once again.",
            service=member_release,
            with_until=False,
        )
