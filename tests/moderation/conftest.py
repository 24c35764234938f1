import pytest

from accounts.roles import Role
from moderation import demo
from moderation.services import (
    information_resource_ensure,
    signposting_template_save,
    support_service_ensure,
)
from tests.factories import CategoryFactory, UserFactory


@pytest.fixture
def ask_our_nurses(db):
    """The demo's services, templates and page, and the Ask Our Nurses category."""
    for key, fields in demo.SUPPORT_SERVICES.items():
        support_service_ensure(key=key, **fields)
    for position, (key, name, kind, body) in enumerate(demo.TEMPLATES):
        signposting_template_save(key=key, name=name, kind=kind, body=body, position=position)
    for key, fields in demo.RESOURCES.items():
        information_resource_ensure(key=key, **fields)
    return CategoryFactory(slug="ask-our-nurses", name="Ask Our Nurses", nurse_answered=True)


@pytest.fixture
def nurse(db):
    return UserFactory(
        email="helen.smith@haven.test",
        display_name="Helen Smith",
        role=Role.NURSE,
        sign_off="Best wishes,\nBreast Care Nurse",
    )
