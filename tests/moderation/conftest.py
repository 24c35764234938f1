import pytest

from accounts.roles import Role
from moderation import demo
from tests.factories import CategoryFactory, UserFactory


@pytest.fixture
def ask_our_nurses(db):
    """The demo's services, templates and page, and the Ask Our Nurses category."""
    demo.install()
    return CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)


@pytest.fixture
def nurse(db):
    return UserFactory(
        email="helen.smith@haven.test",
        display_name="Helen Smith",
        role=Role.NURSE,
        sign_off="Best wishes,\nBreast Care Nurse",
    )
