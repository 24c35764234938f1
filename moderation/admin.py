from functools import partial
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.admin import ReadOnlyAdmin, ReadOnlyInline, ask_then_apply
from core.errors import ApplicationError
from forum.models import Post
from forum.rendering import render_markdown
from moderation.answers import (
    ComposedAnswer,
    check_is_nurse,
    check_preview_current,
    nurse_answer_create,
    nurse_answer_preview,
    unanswered_questions,
)
from moderation.forms import SupportServiceForm, hours_fieldset
from moderation.models import (
    Flag,
    InformationResource,
    NurseAnswer,
    ReviewItem,
    SignpostingTemplate,
    SignpostingTemplateVersion,
    StaffAlert,
    SupportService,
    UnansweredQuestion,
    WatchedWord,
)
from moderation.queue import review_resolve
from moderation.services import signposting_context, signposting_template_save
from moderation.signposting import check_template, render_template
from moderation.watched import watched_word_delete, watched_word_save


@admin.register(SupportService)
class SupportServiceAdmin(admin.ModelAdmin):
    form = SupportServiceForm
    list_display = ("name", "key", "phone", "relay_prefix", "email", "hours_text", "open_now")
    search_fields = ("name", "key")
    readonly_fields = ("hours_text", "updated_at")
    fieldsets = [
        (
            None,
            {
                "fields": (
                    "key",
                    "name",
                    "description",
                    ("phone", "relay_prefix"),
                    "email",
                    "url",
                    "notes",
                )
            },
        ),
        hours_fieldset(),
        ("As published", {"fields": ("hours_text", "updated_at")}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Templates name services by key: renaming one would blank every template using it.
        return (*self.readonly_fields, "key") if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if (
            obj is not None
            and SignpostingTemplate.objects.filter(body__contains=f"services.{obj.key}.").exists()
        ):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="opening hours")
    def hours_text(self, obj: SupportService) -> str:
        try:
            hours = obj.opening_hours
        except ValidationError as exc:  # written around the check: say what to fix
            return "Invalid: " + " ".join(exc.messages)
        return hours.describe() if hours else "—"

    @admin.display(boolean=True, description="open now")
    def open_now(self, obj: SupportService) -> bool | None:
        try:
            hours = obj.opening_hours
        except ValidationError:
            return None  # "unknown"; the hours column says why
        return bool(hours and hours.is_open(timezone.now()))


class TemplateForm(forms.ModelForm):
    class Meta:
        model = SignpostingTemplate
        fields = ("key", "name", "kind", "body", "position", "is_active")

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        try:
            check_template(
                body, service_keys=set(SupportService.objects.values_list("key", flat=True))
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["body"]) from exc
        return body


class VersionInline(admin.TabularInline):
    model = SignpostingTemplateVersion
    fields = ("version", "created_at", "created_by", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-version",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SignpostingTemplate)
class SignpostingTemplateAdmin(admin.ModelAdmin):
    """Edited, never deleted once an answer used it; every edit is a new version."""

    form = TemplateForm
    list_display = ("name", "key", "kind", "version", "is_active", "position")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "key", "body")
    readonly_fields = ("version", "preview")
    inlines = [VersionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*self.readonly_fields, "key") if obj else self.readonly_fields

    @admin.display(description="preview (today's details)")
    def preview(self, obj: SignpostingTemplate) -> str:
        if not obj.pk:
            return "—"
        try:
            text = render_template(obj.body, signposting_context(now=timezone.now()))
        except ValidationError as exc:  # written around the form's check: say what to fix
            text = "This template is broken. " + " ".join(exc.messages)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)

    def save_model(
        self, request: HttpRequest, obj: SignpostingTemplate, form: Any, change: bool
    ) -> None:
        saved = signposting_template_save(
            key=obj.key,
            name=obj.name,
            kind=obj.kind,
            body=obj.body,
            position=obj.position,
            is_active=obj.is_active,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk, obj.version = saved.pk, saved.version

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if (
            obj is not None
            and NurseAnswer.template_versions.through.objects.filter(
                signpostingtemplateversion__template=obj
            ).exists()
        ):
            return False
        return super().has_delete_permission(request, obj)


class OverdueFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("overdue", "Past its review date"), ("current", "Reviewed in time")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[InformationResource]
    ) -> QuerySet[InformationResource]:
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(next_review_due__lt=today)
        if self.value() == "current":
            return queryset.filter(next_review_due__gte=today)
        return queryset


@admin.register(InformationResource)
class InformationResourceAdmin(admin.ModelAdmin):
    list_display = ("title", "key", "current_as_of", "next_review_due", "overdue", "reviewer")
    list_filter = (OverdueFilter,)
    search_fields = ("title", "key")
    date_hierarchy = "next_review_due"

    @admin.display(boolean=True, description="review overdue")
    def overdue(self, obj: InformationResource) -> bool:
        return obj.is_overdue()


@admin.register(NurseAnswer)
class NurseAnswerAdmin(ReadOnlyAdmin):
    """Every published version of every nurse answer; corrections add versions, never edit."""

    list_display = ("thread", "version", "nurse", "is_follow_up", "reason", "created_at")
    list_select_related = ("thread", "nurse")
    readonly_fields = (
        "post",
        "version",
        "thread",
        "nurse",
        "reason",
        "published_body",
        "services",
        "resources",
    )
    filter_horizontal = ()


class AnswerPreviewWidget(forms.Widget):
    """The answer exactly as it will publish, and (hidden) the digest of what it shows."""

    composed: ComposedAnswer | None = None
    digest = ""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        hidden = format_html('<input type="hidden" name="{}" value="{}">', name, self.digest)
        if self.composed is None:
            return format_html(
                "{}<p>Press “Preview the full answer” to read it, signposts, sign-off and "
                "disclaimer included, exactly as it will go out.</p>",
                hidden,
            )
        notice = self.composed.closing_notice
        closing = (
            format_html(
                "<p><strong>Then the thread closes with this notice:</strong></p>{}",
                mark_safe(render_markdown(notice)),  # noqa: S308  (sanitised by nh3)
            )
            if notice
            else ""
        )
        return format_html(
            '{}<div class="nurse-answer-preview">{}</div>{}',
            hidden,
            mark_safe(self.composed.html),  # noqa: S308  (sanitised by nh3)
            closing,
        )


class AnswerForm(forms.ModelForm):
    """The nurse's answer, composed in the admin: her text, signposts, and whether to close.

    It publishes only what the nurse has seen: the first submission shows the full answer as
    it would go out; publishing then needs the digest of exactly that text, so a changed
    answer, choice or service detail shows the new preview instead of publishing.
    """

    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), strip=True)
    signposts = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    close = forms.BooleanField(required=False, initial=True, label="Close the thread")
    preview_digest = forms.CharField(
        required=False, widget=AnswerPreviewWidget, label="What will publish"
    )
    nurse: Any = None  # the signed-in nurse, set by the admin for each request

    class Meta:
        model = UnansweredQuestion
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        choices = [
            (t.key, t.name)
            for t in SignpostingTemplate.objects.filter(
                kind__in=["service", "information"], is_active=True
            )
        ]
        choices += [
            (r.key, f"{r.title}{' (review overdue)' if r.is_overdue(today) else ''}")
            for r in InformationResource.objects.all()
        ]
        field = self.fields["signposts"]
        assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101  (declared above)
        field.choices = choices

    def clean(self) -> dict[str, Any]:
        """The service's preview, shown; publishing needs it current (the service decides)."""
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            composed = nurse_answer_preview(
                nurse=self.nurse,
                thread=self.instance,
                body=cleaned["answer"],
                signposts=cleaned["signposts"],
                close=cleaned["close"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else []:
                self.add_error({"body": "answer"}.get(field, field), errors)
            if not hasattr(exc, "error_dict"):
                self.add_error(None, exc)
            return cleaned
        except ApplicationError as exc:  # answered or closed meanwhile
            raise ValidationError(exc.detail, code=exc.code) from exc
        widget = self.fields["preview_digest"].widget
        assert isinstance(widget, AnswerPreviewWidget)  # noqa: S101  (declared above)
        widget.composed = composed
        widget.digest = composed.digest(thread=self.instance, nurse=self.nurse)
        seen = cleaned.get("preview_digest") or ""
        if "_preview" in self.data or not seen:
            raise ValidationError(
                "Nothing is published yet. Read the full answer below, exactly as it will go "
                "out, then press Publish.",
                code="preview",
            )
        try:
            check_preview_current(
                composed, thread=self.instance, nurse=self.nurse, preview_digest=seen
            )
        except ApplicationError as exc:
            raise ValidationError(
                f"{exc.detail} The new one is below: read it, then press Publish.", code=exc.code
            ) from exc
        return cleaned


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(admin.ModelAdmin):
    """The nurses' page: questions waiting, oldest first; open one to answer it."""

    form = AnswerForm
    list_display = ("title", "author", "created_at", "reply_count")
    fields = ("question", "answer", "signposts", "close", "preview_digest")
    readonly_fields = ("question",)
    ordering = ("created_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[UnansweredQuestion]:
        ids = unanswered_questions().values("pk")
        questions = UnansweredQuestion.objects.filter(pk__in=ids).select_related("author")
        return cast(QuerySet[UnansweredQuestion], questions)

    @admin.display(description="question")
    def question(self, obj: UnansweredQuestion) -> str:
        opening = Post.objects.filter(thread=obj).order_by("created_at", "id").first()
        return format_html("<strong>{}</strong><br>{}", obj.title, opening.body if opening else "")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"nurse": request.user})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only nurses answer (a superuser without the role reads the questions)."""
        try:
            check_is_nurse(request.user)  # type: ignore[arg-type]
        except ApplicationError:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: UnansweredQuestion, form: Any, change: bool
    ) -> None:
        try:
            nurse_answer_create(
                nurse=request.user,  # type: ignore[arg-type]
                thread=obj,
                body=form.cleaned_data["answer"],
                signposts=form.cleaned_data["signposts"],
                close=form.cleaned_data["close"],
                preview_digest=form.cleaned_data["preview_digest"],
            )
        except (ApplicationError, ValidationError) as exc:
            message = exc.detail if isinstance(exc, ApplicationError) else "; ".join(exc.messages)
            self.message_user(request, message, messages.ERROR)
        else:
            closed = " and closed the thread" if form.cleaned_data["close"] else ""
            self.message_user(request, f"You answered “{obj.title}”{closed}.", messages.SUCCESS)

    def response_change(self, request: HttpRequest, obj: UnansweredQuestion) -> HttpResponse:
        """Back to the queue, with the message ``save_model`` left (not "changed")."""
        return HttpResponseRedirect(reverse("admin:moderation_unansweredquestion_changelist"))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing else of the thread is edited here."""


@admin.register(WatchedWord)
class WatchedWordAdmin(admin.ModelAdmin):
    """Watched words: saved through the service (validated, audited, seen by every process
    at its next post). A bad pattern is an error on the form, never a saved row."""

    list_display = ("word", "match", "action", "case_sensitive", "updated_at")
    list_filter = ("action", "match", "case_sensitive")
    search_fields = ("word",)
    fields = ("word", "match", "action", "case_sensitive")

    def save_model(self, request: HttpRequest, obj: WatchedWord, form: Any, change: bool) -> None:
        watched_word_save(
            word=obj.word,
            action=obj.action,
            match=obj.match,
            case_sensitive=obj.case_sensitive,
            instance=obj,
            actor=request.user,
        )

    def delete_model(self, request: HttpRequest, obj: WatchedWord) -> None:
        watched_word_delete(watched_word=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WatchedWord]) -> None:
        for entry in queryset:
            watched_word_delete(watched_word=entry, actor=request.user)


@admin.register(StaffAlert)
class StaffAlertAdmin(ReadOnlyAdmin):
    """What staff were sent, and when: written by the alert jobs only."""

    list_display = ("sent_at", "kind", "period", "review_item", "oncall_email", "oncall_sent_at")
    list_filter = ("kind",)
    date_hierarchy = "sent_at"
    fields = list_display


# --- Flags and the review queue ----------------------------------------------------------------


class NoteForm(forms.Form):
    """The moderator's note on her decision: kept on the item and in the audit log, and sent
    to the author when a post is rejected or hidden."""

    note = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text="Told to the author when the post is rejected or hidden.",
    )


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return ReviewItem.Reason.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> Any:
        value = self.value()
        return queryset.filter(reasons__has_key=value) if value else queryset


class FlagInline(ReadOnlyInline):
    model = Flag
    fields = ("reason", "note", "flagger", "is_open", "created_at")


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    """The review queue in the admin: read-only rows, decided by actions that run the same
    service as the API (``moderation.queue.review_resolve``) as the acting admin."""

    list_display = (
        "id",
        "post",
        "status",
        "urgent",
        "held",
        "score",
        "reasons",
        "created_at",
        "claimed_by",
        "resolved_by",
    )
    list_filter = ("status", "urgent", ReasonFilter)
    list_select_related = ("post", "claimed_by", "resolved_by")
    ordering = ("status", "-urgent", "created_at")
    fields = (
        "post",
        "thread",
        "post_text",
        "status",
        "urgent",
        "held",
        "score",
        "reasons",
        "created_at",
        "claimed_by",
        "claimed_at",
        "resolved_by",
        "resolved_at",
        "note",
    )
    readonly_fields = fields
    inlines = [FlagInline]
    actions = ["approve", "reject", "hide", "restore", "dismiss"]

    @admin.display(description="post as written")
    def post_text(self, obj: ReviewItem) -> str:
        return format_html("<div>{}</div>", mark_safe(obj.post.body_html))  # noqa: S308  (sanitised by nh3)

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("moderation.review")

    def _resolve(
        self, request: HttpRequest, items: QuerySet[ReviewItem], action: str, explanation: str
    ) -> TemplateResponse | None:
        return ask_then_apply(
            self,
            request,
            items,
            title=action.capitalize(),
            explanation=explanation,
            form_class=NoteForm,
            apply=partial(review_resolve, action=action),
            target="item",
            actor="moderator",
        )

    @admin.action(description="Approve… (publish held, show hidden posts)", permissions=["review"])
    def approve(self, request: HttpRequest, items: QuerySet[ReviewItem]) -> TemplateResponse | None:
        return self._resolve(
            request, items, "approve", "Held posts are published, hidden ones shown again."
        )

    @admin.action(description="Reject… (refuse held, hide visible posts)", permissions=["review"])
    def reject(self, request: HttpRequest, items: QuerySet[ReviewItem]) -> TemplateResponse | None:
        return self._resolve(
            request,
            items,
            "reject",
            "Held posts are refused, visible ones hidden; the authors are told, with the note.",
        )

    @admin.action(description="Hide the posts…", permissions=["review"])
    def hide(self, request: HttpRequest, items: QuerySet[ReviewItem]) -> TemplateResponse | None:
        return self._resolve(
            request, items, "hide", "The posts are hidden; the authors are told, with the note."
        )

    @admin.action(description="Restore the hidden posts…", permissions=["review"])
    def restore(self, request: HttpRequest, items: QuerySet[ReviewItem]) -> TemplateResponse | None:
        return self._resolve(request, items, "restore", "The hidden posts are shown again.")

    @admin.action(description="Dismiss the flags…", permissions=["review"])
    def dismiss(self, request: HttpRequest, items: QuerySet[ReviewItem]) -> TemplateResponse | None:
        return self._resolve(
            request,
            items,
            "dismiss",
            "The flags were unfounded: the posts stay as they are (shown again if only the "
            "flags hid them).",
        )


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = ("id", "post", "reason", "flagger", "is_open", "created_at", "review_item")
    list_filter = ("reason", "is_open")
    list_select_related = ("flagger",)
    fields = ("post", "review_item", "reason", "note", "flagger", "is_open", "created_at")
    readonly_fields = fields
