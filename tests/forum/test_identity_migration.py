"""The data migration fixes, on existing rows, the identity each piece of content showed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("forum", "0005_notification_email_lease")]
AFTER = [("forum", "0007_identity_constraints")]


def _state_after(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # what is applied now, every app included
    return executor.loader.project_state(list(executor.loader.applied_migrations)).apps


@pytest.mark.django_db(transaction=True)
def test_existing_content_keeps_the_identity_it_was_published_under():
    apps = _state_after(BEFORE)
    User = apps.get_model("accounts", "User")
    Category = apps.get_model("forum", "Category")
    Thread = apps.get_model("forum", "Thread")
    Post = apps.get_model("forum", "Post")

    def user(name: str, role: str, title: str = "Breast Care Nurse"):
        return User.objects.create(
            email=f"{name}@haven.test", display_name=name, role=role, title=title
        )

    member = user("Sparrowhawk", "member")
    nurse = user("Helen Smith", "nurse", "Secondary Breast Care Nurse")
    demoted = user("Margaret Jones", "member")  # answered as a nurse, a member since
    moderator = user("Oliver Brown", "moderator")
    untitled = user("Ann Price", "nurse", "")  # a title cleared from a shell
    category = Category.objects.create(slug="ask-our-nurses", name="Ask Our Nurses")
    question = Thread.objects.create(category=category, author=member, title="A question")

    def closed(*, author, by):
        return Thread.objects.create(
            category=category,
            author=author,
            title=f"Closed by {by.display_name}",
            status="closed",
            closed_at=question.created_at,
            closed_by=by,
        )

    by_nurse = closed(author=nurse, by=nurse)
    by_admin = closed(author=moderator, by=member)
    by_untitled = closed(author=member, by=untitled)

    def post(author, kind="post", thread=question):
        return Post.objects.create(thread=thread, author=author, kind=kind, body="x", body_html="x")

    rows = {
        "member": post(member),
        "nurse answer": post(nurse, "nurse_answer"),
        "demoted answer": post(demoted, "nurse_answer"),
        "erased answer": post(None, "nurse_answer"),
        "nurse reply": post(nurse),
        "moderator reply": post(moderator),
        "untitled answer": post(untitled, "nurse_answer"),
        "untitled reply": post(untitled),
        "notice": post(None, "system"),
    }

    apps = _state_after(AFTER)
    Thread = apps.get_model("forum", "Thread")
    Post = apps.get_model("forum", "Post")
    identities = {
        name: tuple(Post.objects.filter(pk=row.pk).values_list("author_role", "author_title")[0])
        for name, row in rows.items()
    }
    assert identities == {
        "member": ("member", ""),
        "nurse answer": ("nurse", "Secondary Breast Care Nurse"),
        "demoted answer": ("nurse", "Breast Care Nurse"),
        "erased answer": ("nurse", "Breast Care Nurse"),
        "nurse reply": ("nurse", "Secondary Breast Care Nurse"),
        "moderator reply": ("moderator", "Moderator"),
        "untitled answer": ("nurse", "Breast Care Nurse"),
        "untitled reply": ("nurse", "Breast Care Nurse"),
        "notice": ("member", ""),
    }
    fields = ("author_role", "author_title", "closed_by_role", "closed_by_title")
    assert list(Thread.objects.order_by("pk").values_list(*fields)) == [
        ("member", "", "", ""),
        ("nurse", "Secondary Breast Care Nurse", "nurse", "Secondary Breast Care Nurse"),
        ("moderator", "Moderator", "moderator", "Moderator"),
        ("member", "", "nurse", "Breast Care Nurse"),
    ]
    assert by_nurse.pk < by_admin.pk < by_untitled.pk
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


NAMES_BEFORE = [("accounts", "0005_display_names_unique_by_skeleton_outside_nurses")]


def _nurses_with_posts(apps, *, voiced: dict[str, str]) -> None:
    """Nurses (names private until now), each with a post in the voice given."""
    User = apps.get_model("accounts", "User")
    Category = apps.get_model("forum", "Category")
    Thread = apps.get_model("forum", "Thread")
    Post = apps.get_model("forum", "Post")
    category = Category.objects.create(slug="news", name="News")
    thread = Thread.objects.create(category=category, title="Hello")
    for name, role in voiced.items():
        nurse = User.objects.create(
            email=f"{name.split()[0]}@haven.test", display_name=name, role="nurse"
        )
        title = "" if role == "member" else "Breast Care Nurse"
        Post.objects.create(
            thread=thread, author=nurse, author_role=role, author_title=title, body="x"
        )


@pytest.mark.django_db(transaction=True)
def test_nurses_whose_member_posts_show_their_names_keep_them_public():
    apps = _state_after(NAMES_BEFORE)
    _nurses_with_posts(apps, voiced={"Jane Hollis": "member", "Ann Price": "nurse"})
    apps = _state_after(MigrationExecutor(connection).loader.graph.leaf_nodes())
    User = apps.get_model("accounts", "User")
    assert dict(User.objects.values_list("display_name", "display_name_public")) == {
        "Jane Hollis": True,
        "Ann Price": False,
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_at_a_member_who_took_such_a_nurses_name():
    apps = _state_after(NAMES_BEFORE)
    _nurses_with_posts(apps, voiced={"Jane Hollis": "member"})
    apps.get_model("accounts", "User").objects.create(
        email="copy@haven.test", display_name="Jane H0llis"
    )
    executor = MigrationExecutor(connection)
    try:
        with pytest.raises(RuntimeError, match="'Jane Hollis' / 'Jane H0llis'"):
            executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        apps.get_model("accounts", "User").objects.all().delete()
        _state_after(MigrationExecutor(connection).loader.graph.leaf_nodes())
