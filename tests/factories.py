from typing import Any

import factory

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create
from forum.models import Category, Thread
from forum.services import thread_create

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
