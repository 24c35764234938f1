from datetime import date

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from forum.models import Post, Thread
from moderation.opening_hours import OpeningHours, validate_opening_hours
from moderation.patterns import check_pattern


class RolePermission(models.Model):
    """Holds the named permissions behind the nurse and moderator roles: no rows, no table.

    The groups are given these by ``moderation/roles.py``; checks go through ``has_perm``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("answer_as_nurse", "Can answer Ask Our Nurses questions as a nurse"),
            ("view_nurse_queue", "Can see the queue of unanswered nurse questions"),
            ("review", "Can review flagged and held posts"),
            ("suspend_member", "Can suspend members or put them into pre-moderation"),
        ]

    def __str__(self) -> str:
        return "role permissions"


class SupportService(models.Model):
    """A service nurses signpost (the helpline, Someone Like Me): the one source of its details.

    Answers render these details when they are published, so a changed number reaches the
    next answer and never rewrites a published one.
    """

    key = models.CharField(
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]*$", "Lower-case letters, digits and _ (e.g. someone_like_me)."
            )
        ],
        help_text=(
            "How templates name it: {{ services.KEY.phone }}, e.g. {{ services.helpline.phone }}."
        ),
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    relay_prefix = models.CharField(
        max_length=10, blank=True, help_text="Text relay prefix (Relay UK: 18001)."
    )
    email = models.EmailField(blank=True)
    url = models.URLField(blank=True, help_text="E.g. the nurse call-back form.")
    notes = models.CharField(
        max_length=300, blank=True, help_text="E.g. free from UK landlines and mobiles."
    )
    hours = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_opening_hours],
        help_text=(
            'Opening hours: {"time_zone": "Europe/London", "weekly": {"mon": [["09:00", '
            '"16:00"]], …}, "closures": ["2026-12-25"]}. Empty when it has no hours.'
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def opening_hours(self) -> OpeningHours | None:
        return OpeningHours.from_json(self.hours) if self.hours else None


class SignpostingTemplate(models.Model):
    """A reusable piece of a nurse answer, written in the safe template language.

    Every edit is kept as a new version; published answers record the versions they used.
    """

    class Kind(models.TextChoices):
        SERVICE = "service", "Support service"
        INFORMATION = "information", "Information"
        CLOSING = "closing", "Closing notice"
        DISCLAIMER = "disclaimer", "Disclaimer"
        SIGN_OFF = "sign_off", "Sign-off"
        CRISIS = "crisis", "Crisis signposting"

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    body = models.TextField(help_text="Markdown with {{ services.helpline.phone }} and {% if %}.")
    version = models.PositiveIntegerField(default=0, editable=False)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "position", "id"]

    def __str__(self) -> str:
        return self.name


class SignpostingTemplateVersion(models.Model):
    """What a template said at one time: immutable."""

    template = models.ForeignKey(
        SignpostingTemplate, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["template", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="signpost_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.template.key} v{self.version}"


class InformationResource(models.Model):
    """A reviewed information page a nurse may link from an answer."""

    key = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    url = models.URLField(blank=True)
    body = models.TextField(blank=True, help_text="Used when the page has no URL.")
    current_as_of = models.DateField()
    author = models.CharField(max_length=200, blank=True)
    reviewer = models.CharField(max_length=200, blank=True)
    next_review_due = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["next_review_due"], name="moderation_resource_review_idx")]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: date | None = None) -> bool:
        return self.next_review_due < (today or timezone.localdate())


class NurseAnswer(models.Model):
    """One published version of a nurse answer: its text, and what it was made of. Immutable.

    Version 1 is the answer as first published; each correction adds the next version, with
    its reason, and the post shows the latest.
    """

    post = models.ForeignKey("forum.Post", on_delete=models.PROTECT, related_name="snapshots")
    version = models.PositiveSmallIntegerField(default=1)
    thread = models.ForeignKey("forum.Thread", on_delete=models.CASCADE, related_name="+")
    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The nurse who published this version.",
    )
    is_follow_up = models.BooleanField(default=False)
    published_body = models.TextField()
    published_html = models.TextField()
    template_versions = models.ManyToManyField(SignpostingTemplateVersion, related_name="+")
    services = models.JSONField(default=dict, help_text="Service details as published.")
    resources = models.JSONField(default=list)
    reason = models.CharField(
        max_length=500, blank=True, help_text="Why this correction was published."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["post", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "version"], name="moderation_answer_version_once"
            ),
            # Two nurses answering at once: the database lets only one first answer in.
            models.UniqueConstraint(
                fields=["thread"],
                condition=models.Q(is_follow_up=False, version=1),
                name="moderation_one_first_nurse_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"Nurse answer in thread {self.thread_id}, version {self.version}"


class SlaReminder(models.Model):
    """One reminder per question per level: a beat job running twice sends nothing twice."""

    thread = models.ForeignKey("forum.Thread", on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "level"], name="moderation_sla_once")
        ]

    def __str__(self) -> str:
        return f"Reminder {self.level} for thread {self.thread_id}"


class ReviewDateAlert(models.Model):
    """The admins' alert about pages past their review date: one a day, however many beats."""

    day = models.DateField(unique=True)
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Review-date alert of {self.day}"


class UnansweredQuestion(Thread):
    """Ask Our Nurses questions awaiting a nurse, as the nurses' admin page lists them."""

    class Meta:
        proxy = True
        verbose_name = "Ask Our Nurses question"
        verbose_name_plural = "Ask Our Nurses: unanswered questions"


class ReviewItem(models.Model):
    """A post (a held or flagged one, or a thread's opening post) waiting for a moderator.

    Flags and watched-word matches on a post join its one open item; ``reasons`` counts them
    by reason. Resolving it decides the post's fate and closes its flags.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        HIDDEN = "hidden", "Hidden"
        DISMISSED = "dismissed", "Dismissed"

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        INAPPROPRIATE = "inappropriate", "Inappropriate"
        MISINFORMATION = "misinformation", "Misinformation"
        SAFEGUARDING = "safeguarding", "Safeguarding concern"
        OTHER = "other", "Other"
        HELD = "held", "Held for approval"
        WATCHED_WORD = "watched_word", "Matched a watched word"
        PREMODERATED = "premoderated", "Edited by a member in pre-moderation"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(default=dict, help_text='Counts by reason: {"spam": 2}.')
    score = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    urgent = models.BooleanField(default=False)
    held = models.BooleanField(default=False, help_text="The post waits for approval.")
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    alerts_sent = models.PositiveSmallIntegerField(
        default=0, help_text="Urgent alerts sent so far (the first, then re-alerts)."
    )
    digested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the hourly digest told moderators of it."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post"],
                condition=models.Q(status="pending"),
                name="moderation_review_one_open_per_post",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending", resolved_at__isnull=True)
                | (~models.Q(status="pending") & models.Q(resolved_at__isnull=False)),
                name="moderation_review_resolved_has_time",
            ),
        ]
        indexes = [
            # The queue: pending, urgent first, then oldest.
            models.Index(
                models.F("urgent").desc(),
                "created_at",
                "id",
                condition=models.Q(status="pending"),
                name="moderation_review_queue_idx",
            ),
            models.Index(fields=["status", "-resolved_at"], name="moderation_review_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Review of post {self.post_id} ({self.status})"


# What members flag posts for: the review reasons people give (screening gives the rest).
FLAG_REASONS = [
    (reason.value, reason.label)
    for reason in (
        ReviewItem.Reason.SPAM,
        ReviewItem.Reason.INAPPROPRIATE,
        ReviewItem.Reason.MISINFORMATION,
        ReviewItem.Reason.SAFEGUARDING,
        ReviewItem.Reason.OTHER,
    )
]


class Flag(models.Model):
    """A member's report of a post. One open flag per member per post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    flagger = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="flags",
        help_text="Empty once the member who flagged has erased her account.",
    )
    review_item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(max_length=16, choices=FLAG_REASONS)
    note = models.CharField(max_length=1000, blank=True)
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flagger", "post"],
                condition=models.Q(is_open=True),
                name="moderation_flag_one_open_per_member",
            ),
        ]
        indexes = [models.Index(fields=["flagger", "-created_at"], name="moderation_flag_by_idx")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} flag on post {self.post_id}"


class WatchedWord(models.Model):
    """A word, phrase or pattern that changes what happens to a post that contains it."""

    class Match(models.TextChoices):
        WORD = "word", "Whole word"
        PHRASE = "phrase", "Phrase"
        REGEX = "regex", "Regular expression"

    class Action(models.TextChoices):
        BLOCK = "block", "Block: refuse the post"
        HOLD = "hold", "Hold for approval"
        FLAG = "flag", "Flag for review"
        SAFEGUARDING = "safeguarding", "Safeguarding: urgent review and crisis signposting"
        SENSITIVE = "sensitive", "Sensitive: show behind a content warning"

    word = models.CharField(max_length=200)
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.WORD)
    action = models.CharField(max_length=16, choices=Action.choices)
    case_sensitive = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action", "word"]
        constraints = [
            models.UniqueConstraint(
                fields=["word", "match", "action"], name="moderation_watched_word_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.word} ({self.get_action_display()})"

    def clean(self) -> None:
        self.word = self.word.strip()
        check_pattern(word=self.word, match=self.match)


class StaffAlert(models.Model):
    """One staff alert, claimed once: a redelivered job or a second beat sends nothing twice.

    ``period`` names what the alert is about and is unique per kind: ``<item>/<number>`` for
    an urgent item's alerts (the first, then each re-alert), the hour of a digest, the day
    of a reminder or of the admins' summary. An urgent alert sent out of hours also owes
    the on-call address an email (``oncall_email``), sent once (``oncall_sent_at``).
    """

    class Kind(models.TextChoices):
        URGENT = "urgent", "Urgent review alert"
        DIGEST = "digest", "Hourly review digest"
        REMINDER = "reminder", "Old review queue reminder"
        SUMMARY = "summary", "Daily summary for admins"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    period = models.CharField(max_length=40)
    review_item = models.ForeignKey(
        ReviewItem, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    oncall_email = models.EmailField(
        blank=True, help_text="The on-call address this alert also goes to (out of hours)."
    )
    oncall_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "period"], name="moderation_staff_alert_once")
        ]
        indexes = [
            models.Index(
                fields=["sent_at"],
                condition=models.Q(oncall_sent_at__isnull=True) & ~models.Q(oncall_email=""),
                name="moderation_oncall_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period}"
