"""The support service admin: opening hours edited as a week, every mistake said on the form."""

import pytest
from django.core.exceptions import ValidationError

from moderation.models import SupportService
from moderation.opening_hours import WEEKDAYS
from moderation.services import support_service_ensure

pytestmark = pytest.mark.django_db

ADD = "/admin/moderation/supportservice/add/"


def _week(**days: tuple[str, ...]) -> dict[str, str]:
    """Form data for the weekly rows: ``mon=("09:00", "16:00")``, lunch breaks as 4 times."""
    data = {}
    for day in WEEKDAYS:
        times = days.get(day, ())
        for n, edge in enumerate(("1_opens", "1_closes", "2_opens", "2_closes")):
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
    assert not SupportService.objects.exists()


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
