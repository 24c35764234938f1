"""Safeguarding: an urgent review item from a screening, and crisis signposting from live data."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from forum import policy
from forum.models import Notification, Post
from forum.policy import Screening
from moderation.models import (
    ReviewItem,
    SignpostingTemplate,
    StaffAlert,
    SupportService,
    WatchedWord,
)
from moderation.safeguarding import crisis_html, crisis_support, screening_raised
from moderation.services import signposting_template_save, support_service_ensure
from tests.factories import UserFactory, make_thread

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
SUNDAY_3PM = datetime(2026, 11, 22, 15, 0, tzinfo=LONDON)


def test_the_migration_seeded_the_crisis_template_services_and_words():
    crisis = SignpostingTemplate.objects.get(key="crisis")
    assert (crisis.kind, crisis.version) == ("crisis", 1)
    assert crisis.versions.get().body == crisis.body
    assert SupportService.objects.get(key="samaritans").phone == "116 123"
    moderation = SupportService.objects.get(key="moderation").opening_hours
    assert moderation is not None and moderation.is_open(MONDAY_10AM)
    assert not moderation.is_open(SUNDAY_3PM)
    assert WatchedWord.objects.filter(action="safeguarding", word="kill myself").exists()


def test_crisis_support_names_samaritans_999_and_the_helpline_with_live_hours(ask_our_nurses):
    with time_machine.travel(MONDAY_10AM):
        open_now = crisis_support()
    assert open_now["kind"] == "crisis"
    html = open_now["html"]
    assert "116 123" in html
    assert "999" in html
    assert "0808 800 6000" in html
    assert "We’re open now" in html or "We're open now" in html
    with time_machine.travel(SUNDAY_3PM):
        closed = crisis_html()
    assert "open now" not in closed
    assert "tomorrow at 9am" in closed
    assert "<script" not in closed


def test_the_crisis_signposting_follows_the_services_details(ask_our_nurses):
    assert "116 123" in crisis_html()
    support_service_ensure(key="samaritans", phone="116 999")
    assert "116 999" in crisis_html()
    assert "116 123" not in crisis_html()


def test_an_edited_crisis_template_is_used_and_a_broken_one_never_fails(ask_our_nurses):
    signposting_template_save(
        key="crisis",
        name="Crisis signposting",
        kind="crisis",
        body="Call {{ services.samaritans.name }} on {{ services.samaritans.phone }} now.",
    )
    assert "Call Samaritans on 116 123 now." in crisis_html()
    SignpostingTemplate.objects.filter(key="crisis").update(body="{% lorem %}")
    html = crisis_html()
    assert "116 123" in html and "999" in html


def test_without_any_services_the_essentials_are_still_shown():
    SupportService.objects.all().delete()
    html = crisis_html()
    assert "116 123" in html and "999" in html


def test_the_forum_gets_the_crisis_html_through_its_policy_hook(ask_our_nurses):
    assert policy.support_html("crisis") == crisis_html()


def test_a_safeguarding_screening_raises_an_urgent_item_and_alerts_at_once(
    django_capture_on_commit_callbacks, member
):
    moderator = UserFactory(role="moderator")
    post = Post.objects.get(thread=make_thread(author=member))
    with django_capture_on_commit_callbacks(execute=True):
        screening_raised(post, Screening(safeguarding=True, reasons=("safeguarding",)))
    item = ReviewItem.objects.get(post=post)
    assert item.urgent and not item.held
    assert item.reasons == {"safeguarding": 1}
    assert item.alerts_sent == 1
    alert = Notification.objects.get(kind="urgent_review")
    assert (alert.recipient, alert.priority, alert.sequence) == (moderator, "high", 1)
    assert StaffAlert.objects.filter(kind="urgent", period=f"{item.pk}/1").exists()


@pytest.mark.parametrize(
    ("screening", "reasons", "held"),
    [
        (Screening(hold=True, reasons=("watched_word",)), {"watched_word": 1}, True),
        (Screening(flag=True, reasons=("watched_word",)), {"watched_word": 1}, False),
        (Screening(hold=True, reasons=("new_member",)), {"held": 1}, True),
    ],
)
def test_hold_and_flag_screenings_join_the_queue_without_urgency(member, screening, reasons, held):
    post = Post.objects.get(thread=make_thread(author=member))
    screening_raised(post, screening)
    item = ReviewItem.objects.get(post=post)
    assert (item.reasons, item.held, item.urgent) == (reasons, held, False)
