"""The support service admin: opening hours edited as a week, every mistake said on the form."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from moderation.models import SupportService
from moderation.opening_hours import WEEKDAYS
from moderation.services import support_service_ensure
from tests.utils import admin_form

pytestmark = pytest.mark.django_db

ADD = "/admin/moderation/supportservice/add/"

SEEDED = ("samaritans", "moderation")  # by the safeguarding migration


def _week(**days: tuple[str, ...]) -> dict[str, str]:
    """Form data for the weekly rows: ``mon=("09:00", "16:00")``, lunch breaks as 4 times."""
    edges = [f"{n}_{edge}" for n in range(1, 4) for edge in ("opens", "closes")]
    data = {}
    for day in WEEKDAYS:
        times = days.get(day, ())
        for n, edge in enumerate(edges):
            data[f"{day}_{edge}"] = times[n] if n < len(times) else ""
    return data


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "key": "helpline",
        "name": "Helpline",
        "description": "",
        "phone": "0808 800 6000",
        "relay_prefix": "18001",
        "email": "",
        "url": "",
        "notes": "",
        "time_zone": "Europe/London",
        "closures": "",
        **_week(mon=("09:00", "16:00")),
    }
    data.update(overrides)
    return data


def test_a_week_with_a_lunch_break_and_closures_is_saved_as_opening_hours(admin_client):
    data = _form(
        **_week(mon=("09:00", "12:30", "13:30", "16:00"), sat=("09:00", "13:00")),
        closures="2026-12-25\n\n 2026-12-26 ",
    )
    response = admin_client.post(ADD, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    service = SupportService.objects.get(key="helpline")
    assert service.hours == {
        "time_zone": "Europe/London",
        "weekly": {
            "mon": [["09:00", "12:30"], ["13:30", "16:00"]],
            "tue": [],
            "wed": [],
            "thu": [],
            "fri": [],
            "sat": [["09:00", "13:00"]],
            "sun": [],
        },
        "closures": ["2026-12-25", "2026-12-26"],
    }
    assert service.opening_hours is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (_week(mon=("25:00", "16:00")), "not a time in HH:MM form"),
        (_week(tue=("16:00", "09:00")), "must close after it opens"),
        (_week(wed=("09:00", "13:00", "12:00", "16:00")), "overlap"),
        (_week(thu=("09:00", "")), "Give both the opening and the closing time"),
        ({"time_zone": "Mars/Base"}, "Select a valid choice"),
        ({"closures": "Christmas"}, "is not a date in YYYY-MM-DD form"),
    ],
)
def test_invalid_hours_are_errors_on_the_form_never_a_500(admin_client, overrides, message):
    response = admin_client.post(ADD, _form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SupportService.objects.exclude(key__in=SEEDED).exists()


def test_a_service_without_times_has_no_opening_hours(admin_client):
    response = admin_client.post(ADD, _form(key="nurse_callback", **_week()))
    assert response.status_code == 302
    assert SupportService.objects.get(key="nurse_callback").hours == {}


def test_the_change_page_shows_the_stored_week_and_keeps_it_on_save(admin_client):
    service = support_service_ensure(
        key="helpline",
        name="Helpline",
        hours={
            "time_zone": "Europe/London",
            "weekly": {"mon": [["09:00", "16:00"]], "sat": [["09:00", "13:00"]]},
            "closures": ["2026-12-25"],
        },
    )
    url = f"/admin/moderation/supportservice/{service.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="mon_1_opens" value="09:00"' in page
    assert 'name="sat_1_closes" value="13:00"' in page
    assert "2026-12-25" in page

    data = _form(**_week(mon=("09:00", "16:00"), sat=("09:00", "13:00")), closures="2026-12-25")
    data.pop("key")  # read-only once saved
    assert admin_client.post(url, data).status_code == 302
    service.refresh_from_db()
    assert service.hours["weekly"]["sat"] == [["09:00", "13:00"]]
    assert service.hours["closures"] == ["2026-12-25"]


def test_bad_hours_written_another_way_are_reported_on_the_hours_field():
    service = SupportService(key="helpline", name="Helpline", hours={"weekly": {"mon": "x"}})
    with pytest.raises(ValidationError) as caught:
        service.full_clean()
    assert "hours" in caught.value.message_dict


def test_the_key_help_text_shows_how_templates_name_a_service(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert "{{ services.KEY.phone }}" in page
    assert "services..phone" not in page


THREE_SESSIONS = {
    "time_zone": "Europe/London",
    "weekly": {
        "mon": [["09:00", "12:00"], ["13:00", "16:00"], ["18:00", "20:00"]],
        "tue": [],
        "wed": [],
        "thu": [],
        "fri": [["09:00", "16:00"]],
        "sat": [],
        "sun": [],
    },
    "closures": ["2026-12-25"],
}

# One more than the hours allow in a day.
FOUR = [["08:00", "09:00"], ["10:00", "11:00"], ["12:00", "13:00"], ["14:00", "15:00"]]


def test_a_day_with_the_most_intervals_the_hours_allow_round_trips_unchanged(admin_client):
    service = support_service_ensure(key="helpline", name="Helpline", hours=THREE_SESSIONS)
    url = f"/admin/moderation/supportservice/{service.pk}/change/"
    data = admin_form(admin_client, url)  # what the page shows, submitted as it is
    assert (data["mon_3_opens"], data["mon_3_closes"]) == ("18:00", "20:00")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    service.refresh_from_db()
    assert service.hours == THREE_SESSIONS


def test_more_intervals_than_the_form_shows_are_refused_by_the_hours_themselves():
    with pytest.raises(ValidationError) as caught:
        support_service_ensure(
            key="helpline", name="Helpline", hours={**THREE_SESSIONS, "weekly": {"mon": FOUR}}
        )
    assert caught.value.message_dict == {
        "hours": ["Monday: at most 3 intervals a day (there are 4)."]
    }


def test_a_stored_day_the_form_cannot_show_whole_is_never_cut_silently(admin_client):
    """Written around the check (a shell, an old row): saving refuses until it is re-entered."""
    service = support_service_ensure(key="helpline", name="Helpline", hours=THREE_SESSIONS)
    stored = {**THREE_SESSIONS, "weekly": {**THREE_SESSIONS["weekly"], "mon": FOUR}}
    SupportService.objects.filter(pk=service.pk).update(hours=stored)
    url = f"/admin/moderation/supportservice/{service.pk}/change/"
    listing = admin_client.get("/admin/moderation/supportservice/").content.decode()
    assert "Invalid: Monday: at most 3 intervals a day (there are 4)." in listing

    response = admin_client.post(url, admin_form(admin_client, url, phone="0808 800 1111"))
    assert response.status_code == 200
    assert (
        "Monday has 4 intervals stored (08:00–09:00, 10:00–11:00, 12:00–13:00, 14:00–15:00); "
        "this form shows 3." in response.content.decode()
    )
    service.refresh_from_db()
    assert (service.hours, service.phone) == (stored, "")

    # Monday entered again: what the admin sees is what is saved.
    again = admin_form(admin_client, url, mon_1_opens="08:30", phone="0808 800 1111")
    assert admin_client.post(url, again).status_code == 302
    service.refresh_from_db()
    assert service.hours["weekly"]["mon"] == [
        ["08:30", "09:00"],
        ["10:00", "11:00"],
        ["12:00", "13:00"],
    ]
    assert service.phone == "0808 800 1111"


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_at_a_stored_day_longer_than_the_hours_now_allow():
    """Which intervals to merge is the service's call: the migration names the day instead."""
    executor = MigrationExecutor(connection)
    executor.migrate([("moderation", "0009_nurse_answer_versions")])
    SupportService.objects.create(key="helpline", name="Helpline", hours={"weekly": {"tue": FOUR}})
    try:
        executor.loader.build_graph()
        with pytest.raises(RuntimeError, match=r"rewrite them first: helpline \(tue\)"):
            executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        SupportService.objects.all().delete()
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
