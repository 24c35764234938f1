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


@pytest.fixture
def moderator(db):
    return UserFactory(display_name="Mod Morgan", role=Role.MODERATOR)


@pytest.fixture
def crisis_html(monkeypatch):
    """The crisis signposting the safeguarding engineer's renderer gives, stood in for here."""
    from forum import policy

    html = "<p>Samaritans: call 116 123, any time. In an emergency call 999.</p>"
    monkeypatch.setitem(policy._support, "crisis", lambda kind: html)
    return html
