from typing import Any

import factory

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create
from forum.fanout import fan_out
from forum.models import Category, Post, Thread
from forum.services import post_create, thread_create

PASSWORD = "a-long-test-password-1"


class UserFactory(factory.Factory):
    """Accounts made the way operators make them: through ``user_create``."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@haven.test")
    display_name = factory.Sequence(lambda n: f"Member {n}")
    password = PASSWORD
    role = Role.MEMBER
    verified = True

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return user_create(**kwargs)

    @classmethod
    def _build(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        kwargs.pop("password")
        kwargs.pop("role")
        kwargs.pop("verified")
        return model_class(*args, **kwargs)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")
    position = factory.Sequence(lambda n: n)
    nurse_answered = False


def make_thread(
    *,
    author: User | None = None,
    category: Category | None = None,
    title: str = "Treatment for a local recurrence",
    body: str = "What treatments might be offered after a local recurrence?",
) -> Thread:
    """A thread made as members make them: through ``thread_create``."""
    return thread_create(
        author=author or UserFactory(),
        category=category or CategoryFactory(),
        title=title,
        body=body,
    )


def make_reply(*, author: User, thread: Thread, body: str) -> Post:
    """A reply made through ``post_create``, then its fan-out job run as a worker runs it after
    the commit (``forum.fanout``): its followers' notifications written, the reply indexed;
    the email job it sends on commit is left to the test (it never commits)."""
    post = post_create(author=author, thread=thread, body=body)
    fan_out(post_id=post.pk)
    return post


def run_fan_out() -> int:
    """Run the fan-out job of every post still owed one, as workers would after the commits
    of a test that never commits (replies made through the API, approvals, answers)."""
    owed = Post.objects.filter(fanned_out_at__isnull=True).exclude(status=Post.Status.PENDING)
    return sum(fan_out(post_id=pk) for pk in owed.order_by("pk").values_list("pk", flat=True))
