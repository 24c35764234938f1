"""Watched words: each action, case, boundaries, validation, and a list every process follows."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from accounts.roles import Role
from config.settings.base import redis_cache
from core.api.exceptions import exception_handler
from core.errors import BadRequest
from forum.policy import Screening
from moderation import watched
from moderation.models import WatchedWord
from moderation.safeguarding import watched_words_screen
from moderation.watched import screen_text, watched_word_delete, watched_word_save
from tests.factories import UserFactory
from tests.utils import admin_form, closed_port

pytestmark = pytest.mark.django_db

ADD = "/admin/moderation/watchedword/add/"


@pytest.fixture(autouse=True)
def _fresh_process():
    """Each test starts as a process that has compiled nothing yet."""
    watched.forget_compiled()
    yield
    watched.forget_compiled()


@pytest.fixture
def watch(django_capture_on_commit_callbacks):
    """Add a watched word as an admin would: committed, so the new version is published."""

    def add(word: str, action: str, **fields: object) -> WatchedWord:
        with django_capture_on_commit_callbacks(execute=True):
            return watched_word_save(word=word, action=action, **fields)  # type: ignore[arg-type]

    return add


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("hold", Screening(hold=True, reasons=("watched_word",))),
        ("flag", Screening(flag=True, reasons=("watched_word",))),
        ("safeguarding", Screening(safeguarding=True, reasons=("safeguarding",))),
        ("sensitive", Screening(sensitive=True, reasons=("sensitive",))),
    ],
)
def test_each_action_becomes_a_screening(watch, member, action, expected):
    watch("grapefruit", action)
    assert watched_words_screen(member, "No GRAPEFRUIT with my tablets?") == expected
    assert watched_words_screen(member, "An orange a day") == Screening()


def test_a_block_word_refuses_the_post_naming_nothing_of_it(watch, member):
    watch("miracle-cure", "block")
    with pytest.raises(BadRequest) as refused:
        watched_words_screen(member, "Title\n\nBuy my miracle-cure today")
    response = exception_handler(refused.value, {})
    assert response is not None
    assert response.status_code == 400
    assert response.data["code"] == "blocked_content"
    assert "miracle" not in str(response.data).lower()
    assert "cure" not in str(response.data).lower()


def test_several_words_of_several_actions_are_all_found(watch, member):
    watch("ward", "flag")
    watch("ward round", "safeguarding", match="phrase")
    watch("round", "sensitive")
    # Overlapping: a longer hit hides neither the shorter one at its start nor the one inside.
    screening = watched_words_screen(member, "On the ward  round today.")
    assert (screening.flag, screening.safeguarding, screening.sensitive) == (True, True, True)


def test_staff_are_only_ever_marked_sensitive(watch):
    # "suicidal" (safeguarding) and "lethal dose" (sensitive) are in the default list.
    watch("spamword", "block")
    watch("grapefruit", "hold")
    for role in (Role.NURSE, Role.MODERATOR):
        staff = UserFactory(role=role)
        text = "If you feel suicidal, call Samaritans. spamword grapefruit. No lethal dose here."
        assert watched_words_screen(staff, text) == Screening(
            sensitive=True, reasons=("sensitive",)
        )


def test_matching_ignores_case_unless_asked(watch):
    watch("Tamoxifen", "flag")
    watch("NHS", "hold", case_sensitive=True)
    assert screen_text("tamoxifen and TAMOXIFEN") == {"flag"}
    assert screen_text("the nhs said") == set()
    assert screen_text("the NHS said") == {"hold"}
    assert screen_text("the Nhs said") == set()


@pytest.mark.parametrize(
    ("word", "match", "matches", "misses"),
    [
        ("kill", "word", ["kill", "to kill.", "(kill)", "KILL!"], ["skill", "killer", "kill_"]),
        (
            "kill myself",
            "phrase",
            ["kill myself", "kill   myself", "kill\nmyself", "Kill\tMyself!"],
            ["killmyself", "kill my self", "skill myselfish", "kill, myself"],
        ),
        ("self-harm", "word", ["self-harm", "my self-harm."], ["self harm", "selfharm"]),
        (
            r"\bpills?\b|tablets\s+stockpiled",
            "regex",
            ["pill", "two PILLS", "tablets  stockpiled"],
            ["pillow", "tablet stockpiled"],
        ),
        (
            # Prefiltered on its literal text (every spelling of it), then matched as written.
            r"\bc[a@]sh\s+pr[i1]ze\b|\bcure[ds]?\s+(?:my|your)\s+cancer",
            "regex",
            ["C@SH  PR1ZE", "cash prize", "Cured my CANCER"],
            ["cash prizes", "c4sh prize", "cure all cancer", "cancer cure"],
        ),
    ],
)
def test_words_phrases_and_regexes_have_their_boundaries(
    watch, django_capture_on_commit_callbacks, word, match, matches, misses
):
    with django_capture_on_commit_callbacks(execute=True):
        WatchedWord.objects.all().delete()
    watch(word, "flag", match=match)
    for text in matches:
        assert screen_text(f"x {text} y") == {"flag"}, text
    for text in misses:
        assert screen_text(f"x {text} y") == set(), text


def test_a_case_sensitive_word_is_found_after_lower_casing_changes_lengths(watch):
    watch("NHS", "hold", case_sensitive=True)
    assert screen_text("İstanbul and the NHS") == {"hold"}
    assert screen_text("İstanbul and the nhs") == set()


@pytest.mark.parametrize(
    ("word", "match", "message"),
    [
        ("(unclosed", "regex", "not a valid regular expression"),
        ("a*", "regex", "matches an empty string"),
        (r"\b", "regex", "matches an empty string"),
        ("(?P<x>a)b", "regex", "Named groups and backreferences"),
        (r"(a)\1", "regex", "Named groups and backreferences"),
        ("x(?i)y", "regex", "not a valid regular expression"),
        ("two words", "word", "choose “Phrase”"),
        ("   ", "phrase", "Enter the word"),
    ],
)
def test_a_bad_pattern_is_a_field_error_and_nothing_is_saved(word, match, message):
    before = WatchedWord.objects.count()
    with pytest.raises(ValidationError) as refused:
        watched_word_save(word=word, match=match, action="flag")
    assert any(message in m for m in refused.value.message_dict["word"])
    assert WatchedWord.objects.count() == before


def test_a_bad_regex_is_an_error_on_the_admin_form(admin_client):
    data = admin_form(admin_client, ADD, word="(unclosed", match="regex", action="hold")
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert "This is not a valid regular expression" in response.content.decode()
    assert not WatchedWord.objects.filter(word="(unclosed").exists()


def test_an_admin_change_reaches_the_next_post_and_is_audited(
    admin_client, django_capture_on_commit_callbacks
):
    assert screen_text("a quick brown fox") == set()
    data = admin_form(admin_client, ADD, word="brown fox", match="phrase", action="hold")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ADD, data)
    assert response.status_code == 302
    assert screen_text("a quick brown fox") == {"hold"}  # same process, new version

    entry = WatchedWord.objects.get(word="brown fox")
    change = f"/admin/moderation/watchedword/{entry.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change, admin_form(admin_client, change, action="flag"))
    assert screen_text("a quick brown fox") == {"flag"}

    delete = f"/admin/moderation/watchedword/{entry.pk}/delete/"
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(delete, {"post": "yes"})
    assert screen_text("a quick brown fox") == set()
    from core.models import AuditEntry

    assert list(
        AuditEntry.objects.filter(target_id=entry.pk, action__startswith="watched_word")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["watched_word_added", "watched_word_changed", "watched_word_deleted"]


def test_compiling_happens_once_per_version(watch, monkeypatch):
    compiled = []
    original = watched.compile_words

    def counting(*args, **kwargs):
        compiled.append(kwargs["version"])
        return original(*args, **kwargs)

    monkeypatch.setattr(watched, "compile_words", counting)
    watch("grapefruit", "flag")
    for _ in range(5):
        assert screen_text("grapefruit juice") == {"flag"}
    assert len(compiled) == 1
    watch("orange", "flag")
    for _ in range(5):
        assert screen_text("orange juice") == {"flag"}
    assert len(compiled) == 2
    assert compiled[0] != compiled[1]


def test_another_process_sees_a_change_through_redis(watch, monkeypatch):
    watch("grapefruit", "flag")
    assert screen_text("grapefruit") == {"flag"}
    stale = watched._compiled
    # Another process changed the list: the table and Redis have moved, this process's
    # compiled list has not. Redis alone tells it (the table is not asked for a version).
    watch("orange", "flag")
    watched._compiled = stale

    def no_table(*args: object) -> str:
        raise AssertionError("the version should come from Redis")

    monkeypatch.setattr(watched, "database_version", no_table)
    assert screen_text("orange") == {"flag"}
    # And a process started since (nothing compiled) reads the version from Redis.
    watched.forget_compiled()
    assert screen_text("orange") == {"flag"}


def test_with_redis_down_a_change_is_still_seen_from_the_table(watch):
    watch("grapefruit", "flag")
    assert screen_text("grapefruit") == {"flag"}
    dead = {"default": redis_cache(f"redis://127.0.0.1:{closed_port()}/0", "haven-test")}
    with override_settings(CACHES=dead):
        # The change's own bump cannot reach Redis either.
        watch("orange", "hold")
        assert screen_text("orange grapefruit") == {"hold", "flag"}
        watched_word_delete(watched_word=WatchedWord.objects.get(word="grapefruit"))
        assert screen_text("orange grapefruit") == {"hold"}


def test_the_default_list_escalates_intent_and_leaves_cancer_vocabulary_alone(member):
    screen = watched_words_screen
    for text in (
        "I just want to die",
        "I've been having suicidal thoughts",
        "thinking about how to end my life",
        "I self-harm when it gets bad",
        "Everyone would be better off without me",
    ):
        assert screen(member, text).safeguarding, text
    for text in (
        "My mum is dying and on end of life care",
        "Is my cancer terminal? The palliative team increased her morphine",
        "I'm killing it at the gym since chemo ended",
        "The oncologist said the dose was lowered",
    ):
        assert screen(member, text) == Screening(), text
    assert screen(member, "what is a lethal dose of").sensitive
