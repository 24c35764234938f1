from typing import Any

import factory

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_create

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
