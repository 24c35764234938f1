from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse

from core.audit import REASON_MAX
from core.errors import ApplicationError
from core.models import AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records only the services write: never added, edited or deleted here, even by
    superusers."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonForm(forms.Form):
    """Why a staff member acts on someone else's account or content: optional, short, and
    recorded in the audit log (the services check it again)."""

    reason = forms.CharField(
        max_length=REASON_MAX, required=False, widget=forms.Textarea({"rows": 3})
    )


def ask_then_apply(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    title: str,
    explanation: str,
    apply: Callable[..., object],
    target: str,
    actor: str = "actor",
    form_class: type[forms.Form] = ReasonForm,
    form_kwargs: Mapping[str, Any] | None = None,
) -> TemplateResponse | None:
    """An admin action that asks first: a page lists the selected rows under a small form
    (``form_class``: a reason, and whatever else the action needs).

    On "apply" with a valid form, the service ``apply`` runs for each row as the acting
    admin, called by its own keyword names (``apply(**{actor: admin, target: row},
    **cleaned_data)``), one service call (one transaction) each: a refusal
    (``ApplicationError``, ``ValidationError``, ``Http404``) is reported for its row and the
    others go on; the rows done are counted. An invalid form shows the page again with its
    errors, nothing applied.
    """
    rows = list(queryset)
    form = form_class(request.POST if "apply" in request.POST else None, **(form_kwargs or {}))
    if form.is_bound and form.is_valid():
        done = 0
        for obj in rows:
            arguments = {actor: request.user, target: obj, **form.cleaned_data}
            refusal = _refusal(apply, arguments)
            if refusal is None:
                done += 1
            else:
                model_admin.message_user(request, f"{obj}: {refusal}", messages.ERROR)
        if done:
            noun = model_ngettext(model_admin.opts, done)
            model_admin.message_user(request, f"{title}: {done} {noun}.", messages.SUCCESS)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "explanation": explanation,
        "form": form,
        "rows": rows,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": model_admin.opts,
    }
    return TemplateResponse(request, "admin/action_form.html", context)


def _refusal(apply: Callable[..., object], arguments: dict[str, Any]) -> str | None:
    """What the service said when it refused; None when it was done."""
    try:
        apply(**arguments)
    except ApplicationError as exc:
        return exc.detail
    except ValidationError as exc:
        return " ".join(exc.messages)
    except Http404 as exc:
        return str(exc) or "Not found."
    return None


class ReadOnlyInline(admin.TabularInline):
    """Rows shown beside their parent, written by the services only: never added or changed
    here (set ``fields``; they are all read-only)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log is read-only, even for superusers."""

    list_display = ("created_at", "action", "actor", "target_type", "target_id", "reason")
    list_filter = ("action", "target_type")
    search_fields = ("reason", "action")
    list_select_related = ("target_type",)
    date_hierarchy = "created_at"
    fields = ("created_at", "action", "actor", "target_type", "target_id", "reason", "data")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEntry]:
        users = get_user_model().objects.filter(pk=OuterRef("actor_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(actor_name=Subquery(users.values("display_name")[:1]))
        )

    @admin.display(description="actor")
    def actor(self, obj: AuditEntry) -> str:
        if obj.actor_id is None:
            return "system"
        name = getattr(obj, "actor_name", None)
        return f"{name} (#{obj.actor_id})" if name else f"#{obj.actor_id}"
