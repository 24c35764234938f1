from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Role


class Category(models.Model):
    """A board of the forum. In a nurse-answered one, every thread is a question for nurses.

    ``visible_thread_count`` with its logged changes (``ThreadCountChange``) is how many of
    its threads are visible: the thread lists' ``count``, never recounted per request.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Lower comes first.")
    nurse_answered = models.BooleanField(
        default=False, help_text="Questions here are answered by the nursing team."
    )
    # How many of its threads were visible when the log of changes was last folded in
    # (``forum.services.thread_counts_fold``); with the changes logged since, what the thread
    # lists show as their ``count``, without counting ~100 k rows per request
    # (``forum.selectors.visible_thread_count``); repaired by ``thread_counts_recount``.
    visible_thread_count = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Visible threads in this category when its count was last folded.",
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "categories"
        indexes = [models.Index(fields=["position", "id"], name="forum_category_order_idx")]
        # Forum-wide permissions behind the roles (see moderation/roles.py).
        permissions = [
            ("close_thread", "Can close and reopen threads"),
            ("move_thread", "Can move threads between categories"),
            ("moderate_post", "Can edit, hide and restore any post"),
        ]

    def __str__(self) -> str:
        return self.name


def role_field(**options: object) -> models.CharField:
    """The role a piece of content was written in (``accounts.identity.voice_of``)."""
    return models.CharField(max_length=16, choices=Role.choices, **options)  # type: ignore[arg-type]


def title_field() -> models.CharField:
    """The public title it was written under: empty for a member, never for staff."""
    return models.CharField(max_length=60, blank=True)


def staff_have_a_title(prefix: str, *, name: str) -> models.CheckConstraint:
    """A member writes with no title; staff (nurse, moderator) always with one."""
    role, title = f"{prefix}_role", f"{prefix}_title"
    return models.CheckConstraint(
        condition=Q(**{role: Role.MEMBER, title: ""})
        | (~Q(**{role: Role.MEMBER}) & ~Q(**{title: ""})),
        name=name,
    )


class ThreadCountChange(models.Model):
    """One thread entering (+1) or leaving (-1) a category's visible threads, logged by a
    trigger on the threads table (migration 0013) in the writer's transaction, whoever the
    writer: a service, the admin, an erasure, a cascade, SQL by hand.

    Only ever inserted by writers, so counting takes no lock any writer waits for; summed
    with the kept counts by readers (``forum.selectors.visible_thread_count``) and folded
    into them by a periodic job (``forum.services.thread_counts_fold``). The category is a
    plain id, not a foreign key: a key would share-lock the category row at the commit.
    PostgreSQL only (SQLite, the demo, counts the threads).
    """

    category_id = models.BigIntegerField()
    delta = models.SmallIntegerField()

    def __str__(self) -> str:
        return f"category {self.category_id}: {self.delta:+d}"


class ThreadManager(models.Manager["Thread"]):
    def get_queryset(self) -> models.QuerySet["Thread"]:
        # The search vector of a long thread runs to megabytes and only PostgreSQL reads it:
        # never load it into Python by accident.
        return super().get_queryset().defer("search_vector")


class Thread(models.Model):
    """A conversation: its opening post and every reply. Counters are kept by the services."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Visibility(models.TextChoices):
        VISIBLE = "visible", "Visible"
        PENDING = "pending", "Held for approval"
        HIDDEN = "hidden", "Hidden by a moderator"

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="threads")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="threads",
        help_text="Empty once the author has erased their account.",
    )
    # The public identity the thread was written under, fixed then (see accounts.identity).
    author_role = role_field(default=Role.MEMBER)
    author_title = title_field()
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.VISIBLE
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who closed it: for the records. Everyone else sees the staff title below.",
    )
    closed_by_role = role_field(blank=True)
    closed_by_title = title_field()
    close_reason = models.CharField(max_length=500, blank=True)
    reply_count = models.PositiveIntegerField(default=0)
    like_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    nurse_answered_at = models.DateTimeField(null=True, blank=True)
    # Moves on in the same transaction as every write that changes what the thread's pages
    # show: cached pages are keyed by it, so a write makes them misses by construction.
    version = models.PositiveBigIntegerField(default=0, editable=False)
    # Title (weight A) and post bodies (weight B), kept by the services; PostgreSQL only.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ThreadManager()

    class Meta:
        indexes = [
            models.Index(
                fields=["visibility", "-last_activity_at", "-id"], name="forum_thread_activity_idx"
            ),
            models.Index(
                fields=["category", "visibility", "-last_activity_at", "-id"],
                name="forum_thread_cat_activity_idx",
            ),
            models.Index(fields=["author", "-last_activity_at"], name="forum_thread_author_idx"),
            models.Index(
                fields=["category", "created_at"],
                condition=Q(nurse_answered_at__isnull=True, status="open"),
                name="forum_thread_unanswered_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | Q(status="closed"),
                name="forum_thread_open_has_no_closed_at",
            ),
            staff_have_a_title("author", name="forum_thread_staff_author_has_title"),
            # Closed by staff, under a staff title; an open thread names no closer.
            models.CheckConstraint(
                condition=Q(status="open", closed_by_role="", closed_by_title="")
                | (
                    Q(status="closed", closed_by_role__in=[Role.NURSE, Role.MODERATOR])
                    & ~Q(closed_by_title="")
                ),
                name="forum_thread_closed_by_staff_title",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    """One message in a thread. Bodies are Markdown; ``body_html`` is rendered once on write."""

    class Kind(models.TextChoices):
        POST = "post", "Post"
        NURSE_ANSWER = "nurse_answer", "Nurse answer"
        SYSTEM = "system", "System notice"

    class Status(models.TextChoices):
        VISIBLE = "visible", "Visible"
        PENDING = "pending", "Held for approval"
        HIDDEN = "hidden", "Hidden by a moderator"
        DELETED = "deleted", "Deleted"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="posts",
    )
    # The public identity the post was written under, fixed then (see accounts.identity).
    author_role = role_field(default=Role.MEMBER)
    author_title = title_field()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.POST)
    body = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VISIBLE)
    like_count = models.PositiveIntegerField(default=0)
    sensitive = models.BooleanField(
        default=False, help_text="Shown behind a content warning the reader opens."
    )
    support_kind = models.CharField(
        max_length=16,
        blank=True,
        help_text='Signposting its author sees with the post ("crisis" when it raised a concern).',
    )
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # The post is its own outbox: empty until a job has written its followers' notifications.
    fanned_out_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            # The sweep's "posts still owed a fan-out".
            models.Index(
                fields=["created_at"],
                condition=Q(fanned_out_at__isnull=True),
                name="forum_post_unfanned_idx",
            ),
            # The posts page: a thread's posts in (created_at, id) order, cursor-paginated.
            models.Index(fields=["thread", "created_at", "id"], name="forum_post_thread_order_idx"),
            models.Index(fields=["author", "-created_at"], name="forum_post_author_idx"),
            # "Has this member a held post in this thread?", asked by every signed-in posts
            # page (``selectors.posts_page_state``): a thread's held posts, never its others.
            models.Index(
                fields=["thread", "author"],
                condition=Q(status="pending"),
                name="forum_post_held_idx",
            ),
        ]
        constraints = [
            staff_have_a_title("author", name="forum_post_staff_author_has_title"),
            models.CheckConstraint(
                condition=~Q(kind="nurse_answer") | Q(author_role=Role.NURSE),
                name="forum_post_nurse_answer_by_nurse",
            ),
        ]

    def __str__(self) -> str:
        return f"Post {self.pk} in thread {self.thread_id}"


class PostRevision(models.Model):
    """The text a post had before an edit or a correction: moderators see what changed."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField(help_text="The text before this change.")
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How the editor is shown, fixed at the edit (see accounts.identity).
    editor_role = role_field(default=Role.MEMBER)
    editor_title = title_field()
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["post", "-created_at", "-id"], name="forum_revision_post_idx")
        ]

    def __str__(self) -> str:
        return f"Revision of post {self.post_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # (user, post) also serves "did the viewer like these posts?".
            models.UniqueConstraint(fields=["user", "post"], name="forum_like_once_per_member"),
        ]
        indexes = [models.Index(fields=["post"], name="forum_like_post_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"


class Subscription(models.Model):
    """Following a thread: replies to it notify the follower."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="subscriptions")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Thread first: fan-out reads every follower of one thread.
            models.UniqueConstraint(fields=["thread", "user"], name="forum_follow_once"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="forum_follow_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.thread_id}"


class Notification(models.Model):
    """An in-app notification, and the outbox row for its email."""

    class Kind(models.TextChoices):
        REPLY = "reply", "New reply in a followed thread"
        NURSE_ANSWER = "nurse_answer", "A nurse answered"
        NEW_QUESTION = "new_question", "New question for nurses"
        SLA_REMINDER = "sla_reminder", "Question waiting for a nurse"
        THREAD_CLOSED = "thread_closed", "Thread closed"
        POST_APPROVED = "post_approved", "Your held post was approved"
        POST_REJECTED = "post_rejected", "Your held post was not approved"
        POST_HIDDEN = "post_hidden", "Your post was hidden"
        REVIEW = "review", "A post needs review"
        URGENT_REVIEW = "urgent_review", "Urgent: a safeguarding concern"

    class Priority(models.TextChoices):
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"

    class Email(models.TextChoices):
        NOT_WANTED = "not_wanted", "No email wanted"
        PENDING = "pending", "Email to send"
        SENDING = "sending", "Email claimed by a worker"
        SENT = "sent", "Email sent"
        FAILED = "failed", "Email gave up"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    sequence = models.PositiveSmallIntegerField(
        default=0, help_text="Tells repeated notices apart (the second SLA reminder)."
    )
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="+", help_text="What the notice is about."
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(
        blank=True, help_text="A moderator's note to the member (why a post was hidden)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email = models.CharField(max_length=12, choices=Email.choices, default=Email.NOT_WANTED)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While sending: the claiming worker may send until then; the sweep after.",
    )
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A re-run of the same fan-out creates nothing twice.
            models.UniqueConstraint(
                fields=["recipient", "kind", "post", "sequence"], name="forum_notification_once"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="forum_notif_list_idx"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="forum_notif_unread_idx",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(email="pending"),
                name="forum_notif_outbox_idx",
            ),
            models.Index(
                fields=["email_lease_until"],
                condition=Q(email="sending"),
                name="forum_notif_lease_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient_id}"


# Notices of a moderator's decision about the recipient's own post that take it from her
# (hidden, not approved): she may no longer open the post, so they link to her notifications,
# which carry the moderators' note, never to the post (the email's link, the list's).
NOTICES_WITHOUT_POST_LINK = frozenset(
    {Notification.Kind.POST_HIDDEN, Notification.Kind.POST_REJECTED}
)
