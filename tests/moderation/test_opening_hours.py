"""Opening hours of a support service: when it is open, and working time measured against it.

Pure tests: no database. Dates are in 2026, when Europe/London's clocks go forward on
Sunday 29 March and back on Sunday 25 October, and Christmas Day is a Friday.
"""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from moderation.opening_hours import Interval, OpeningHours

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ["09:00", "16:00"]

HELPLINE = {
    "weekly": {
        "mon": [WEEKDAYS],
        "tue": [WEEKDAYS],
        "wed": [WEEKDAYS],
        "thu": [WEEKDAYS],
        "fri": [WEEKDAYS],
        "sat": [["09:00", "13:00"]],
        "sun": [],
    },
    # Christmas Day, and the bank holiday in lieu of Boxing Day (a Saturday).
    "closures": ["2026-12-25", "2026-12-28"],
    "time_zone": "Europe/London",
}


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def hours(weekly: dict[str, list[list[str]]], closures: list[str] | None = None) -> OpeningHours:
    return OpeningHours.from_json(
        {"weekly": weekly, "closures": closures or [], "time_zone": "Europe/London"}
    )


@pytest.fixture
def helpline() -> OpeningHours:
    return OpeningHours.from_json(HELPLINE)


@pytest.fixture
def round_the_clock() -> OpeningHours:
    return hours({day: [["00:00", "24:00"]] for day in HELPLINE["weekly"]})


# --- The stored form ------------------------------------------------------------------


def test_helpline_round_trips_through_json(helpline):
    assert helpline.to_json() == HELPLINE
    assert OpeningHours.from_json(helpline.to_json()) == helpline
    assert helpline.weekly[0] == (Interval(opens=9 * 60, closes=16 * 60),)
    assert helpline.time_zone == LONDON


def test_days_left_out_are_closed_and_intervals_are_stored_in_order():
    split = hours({"wed": [["14:00", "16:00"], ["09:00", "12:30"]]}, ["2026-12-25", "2026-12-25"])

    assert split.to_json() == {
        "weekly": {
            "mon": [],
            "tue": [],
            "wed": [["09:00", "12:30"], ["14:00", "16:00"]],
            "thu": [],
            "fri": [],
            "sat": [],
            "sun": [],
        },
        "closures": ["2026-12-25"],
        "time_zone": "Europe/London",
    }


def test_closures_may_be_left_out():
    assert OpeningHours.from_json({"weekly": {}, "time_zone": "UTC"}).closures == frozenset()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        pytest.param(
            {"weekly": {"monday": [WEEKDAYS]}},
            {"weekly": ["Unknown weekday 'monday'; use mon, tue, wed, thu, fri, sat, sun."]},
            id="unknown-weekday",
        ),
        pytest.param(
            {"weekly": {"mon": [["9:00", "16:00"]]}},
            {"weekly": ["Monday: '9:00' is not a time in HH:MM form, 00:00 to 24:00."]},
            id="time-without-leading-zero",
        ),
        pytest.param(
            {"weekly": {"tue": [["09:00", "24:30"]]}},
            {"weekly": ["Tuesday: '24:30' is not a time in HH:MM form, 00:00 to 24:00."]},
            id="time-past-midnight",
        ),
        pytest.param(
            {"weekly": {"mon": ["09:00-16:00"]}},
            {"weekly": ['Monday: \'09:00-16:00\' is not an interval like ["09:00", "16:00"].']},
            id="interval-not-a-pair",
        ),
        pytest.param(
            {"weekly": {"mon": {"opens": "09:00"}}},
            {"weekly": ['Monday: expected a list of intervals like [["09:00", "16:00"]].']},
            id="day-not-a-list",
        ),
        pytest.param(
            {"weekly": {"sun": [["24:00", "24:00"]]}},
            {"weekly": ["Sunday: an interval cannot open at 24:00."]},
            id="opens-at-24:00",
        ),
        pytest.param(
            {"weekly": {"mon": [["16:00", "09:00"]]}},
            {"weekly": ["Monday: 16:00–09:00 must close after it opens."]},
            id="closes-before-opens",
        ),
        pytest.param(
            {"weekly": {"mon": [["09:00", "09:00"]]}},
            {"weekly": ["Monday: 09:00–09:00 must close after it opens."]},
            id="closes-as-it-opens",
        ),
        pytest.param(
            {"weekly": {"fri": [["12:00", "16:00"], ["09:00", "13:00"]]}},
            {"weekly": ["Friday: 09:00–13:00 and 12:00–16:00 overlap."]},
            id="overlapping-intervals",
        ),
        pytest.param(
            {"weekly": {"fri": [["09:00", "12:00"], ["12:00", "16:00"]]}},
            {"weekly": ["Friday: 09:00–12:00 and 12:00–16:00 meet; write them as one interval."]},
            id="touching-intervals",
        ),
        pytest.param(
            {"time_zone": "Europe/Londn"},
            {
                "time_zone": [
                    "'Europe/Londn' is not a known time zone; use an IANA name like "
                    "'Europe/London'."
                ]
            },
            id="unknown-time-zone",
        ),
        pytest.param(
            {"time_zone": "localtime"},
            {
                "time_zone": [
                    "'localtime' is not a known time zone; use an IANA name like 'Europe/London'."
                ]
            },
            id="server-local-time-zone",
        ),
        pytest.param(
            {"time_zone": None},
            {"time_zone": ["This field is required."]},
            id="missing-time-zone",
        ),
        pytest.param(
            {"closures": ["2026-02-30", "25/12/2026", "20261225"]},
            {
                "closures": [
                    "'2026-02-30' is not a date in YYYY-MM-DD form.",
                    "'25/12/2026' is not a date in YYYY-MM-DD form.",
                    "'20261225' is not a date in YYYY-MM-DD form.",
                ]
            },
            id="bad-dates",
        ),
        pytest.param(
            {"closure": ["2026-12-25"]},
            {"__all__": ["Unknown key 'closure'; expected weekly, closures, time_zone."]},
            id="misspelt-key",
        ),
    ],
)
def test_invalid_data_is_rejected_with_a_clear_message(data, errors):
    with pytest.raises(ValidationError) as raised:
        OpeningHours.from_json({**HELPLINE, **data})

    assert raised.value.message_dict == errors


def test_every_problem_is_reported_at_once_under_its_field():
    with pytest.raises(ValidationError) as raised:
        OpeningHours.from_json(
            {"weekly": {"sat": [["13:00", "09:00"]]}, "closures": ["soon"], "time_zone": "Mars"}
        )

    assert raised.value.message_dict.keys() == {"weekly", "closures", "time_zone"}
    assert raised.value.error_dict["weekly"][0].code == "closes_before_opens"
    assert raised.value.error_dict["closures"][0].code == "invalid_date"
    assert raised.value.error_dict["time_zone"][0].code == "unknown_time_zone"


def test_building_the_dataclass_directly_checks_the_same_rules(helpline):
    overlapping = (Interval(opens=540, closes=780), Interval(opens=720, closes=960))

    with pytest.raises(ValidationError, match="overlap"):
        OpeningHours(
            weekly=(overlapping, *helpline.weekly[1:]),
            closures=frozenset(),
            time_zone=LONDON,
        )


# --- Open or closed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        pytest.param(london(2026, 6, 1, 10), True, id="monday-morning"),
        pytest.param(london(2026, 6, 1, 9), True, id="opening-time-is-open"),
        pytest.param(london(2026, 6, 1, 8, 59), False, id="before-opening"),
        pytest.param(london(2026, 6, 1, 16), False, id="closing-time-is-closed"),
        pytest.param(london(2026, 6, 5, 19, 30), False, id="friday-evening"),
        pytest.param(london(2026, 6, 6, 12, 59), True, id="saturday-late-morning"),
        pytest.param(london(2026, 6, 6, 13), False, id="saturday-afternoon"),
        pytest.param(london(2026, 6, 7, 11), False, id="sunday"),
        pytest.param(london(2026, 12, 25, 11), False, id="christmas-day-closure"),
        pytest.param(london(2026, 12, 24, 11), True, id="christmas-eve"),
    ],
)
def test_is_open(helpline, at, is_open):
    assert helpline.is_open(at) is is_open


def test_is_open_reads_the_clock_in_the_service_time_zone(helpline):
    # 08:30 UTC is 09:30 in a London summer (open) but 08:30 in winter (closed).
    assert helpline.is_open(datetime(2026, 6, 1, 8, 30, tzinfo=UTC))
    assert not helpline.is_open(datetime(2026, 1, 12, 8, 30, tzinfo=UTC))


def test_a_service_without_hours_is_never_open():
    closed = hours({})

    assert not closed.is_open(london(2026, 6, 1, 10))
    assert closed.next_opening(london(2026, 6, 1, 10)) is None
    assert closed.describe() == "Closed"
    with pytest.raises(ValueError, match="no opening hours"):
        closed.add_working_hours(london(2026, 6, 1, 10), 1)


# --- Next opening and closing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "opens"),
    [
        pytest.param(london(2026, 6, 5, 17), london(2026, 6, 6, 9), id="friday-evening"),
        pytest.param(london(2026, 6, 6, 14), london(2026, 6, 8, 9), id="saturday-afternoon"),
        pytest.param(london(2026, 6, 8, 7), london(2026, 6, 8, 9), id="early-monday"),
        pytest.param(london(2026, 6, 8, 11), london(2026, 6, 8, 11), id="open-now"),
        pytest.param(london(2026, 12, 25, 8), london(2026, 12, 26, 9), id="christmas-day"),
        pytest.param(
            london(2026, 12, 26, 14), london(2026, 12, 29, 9), id="over-sunday-and-bank-holiday"
        ),
    ],
)
def test_next_opening(helpline, after, opens):
    assert helpline.next_opening(after) == opens


def test_next_opening_across_the_clocks_going_forward(helpline):
    opens = helpline.next_opening(london(2026, 3, 28, 14))

    # Monday 9am British Summer Time, 42 real hours after 2pm GMT on Saturday (not 43).
    assert opens == london(2026, 3, 30, 9)
    assert opens.utcoffset() == timedelta(hours=1)
    assert opens.astimezone(UTC) - datetime(2026, 3, 28, 14, tzinfo=UTC) == timedelta(hours=42)


def test_next_opening_is_given_in_the_service_time_zone(helpline):
    opens = helpline.next_opening(datetime(2026, 6, 5, 17, tzinfo=UTC))

    assert opens.tzinfo == LONDON
    assert (opens.hour, opens.minute) == (9, 0)


def test_next_closing(helpline):
    assert helpline.next_closing(london(2026, 6, 1, 10)) == london(2026, 6, 1, 16)
    assert helpline.next_closing(london(2026, 6, 6, 9)) == london(2026, 6, 6, 13)
    assert helpline.next_closing(london(2026, 6, 1, 16)) is None
    assert helpline.next_closing(london(2026, 6, 7, 11)) is None


def test_next_closing_runs_on_over_midnight():
    nights = hours({"sun": [["22:00", "24:00"]], "mon": [["00:00", "06:00"]]})

    assert nights.is_open(london(2026, 6, 7, 23))
    assert nights.is_open(london(2026, 6, 8, 0))
    assert nights.next_closing(london(2026, 6, 7, 23)) == london(2026, 6, 8, 6)
    assert nights.working_seconds_between(london(2026, 6, 7), london(2026, 6, 9)) == 8 * 3600


def test_a_round_the_clock_service_never_closes(round_the_clock):
    assert round_the_clock.is_open(london(2026, 3, 29, 1, 30))
    assert round_the_clock.next_closing(london(2026, 6, 1, 10)) is None
    assert round_the_clock.describe() == "Every day 24 hours"


# --- Working time ---------------------------------------------------------------------


def test_working_time_over_a_weekend(helpline):
    # 1h on Friday, 4h on Saturday, 1h on Monday.
    seconds = helpline.working_seconds_between(london(2026, 6, 5, 15), london(2026, 6, 8, 10))

    assert seconds == 6 * 3600


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(london(2026, 3, 27, 15), london(2026, 3, 30, 10), id="clocks-go-forward"),
        pytest.param(london(2026, 10, 23, 15), london(2026, 10, 26, 10), id="clocks-go-back"),
    ],
)
def test_working_time_over_a_weekend_when_the_clocks_change(helpline, start, end):
    assert helpline.working_seconds_between(start, end) == 6 * 3600


def test_working_time_skips_closures(helpline):
    # 1h on Christmas Eve, nothing on Christmas Day, 4h on Boxing Day, nothing on Sunday
    # or the bank holiday, 1h on Tuesday.
    seconds = helpline.working_seconds_between(london(2026, 12, 24, 15), london(2026, 12, 29, 10))

    assert seconds == 6 * 3600


def test_working_time_within_and_outside_one_interval(helpline):
    def between(start_hour: int, end_hour: int) -> float:
        return helpline.working_seconds_between(
            london(2026, 6, 1, start_hour), london(2026, 6, 1, end_hour)
        )

    assert between(10, 11) == 3600
    assert between(8, 10) == 3600
    assert between(17, 23) == 0
    assert between(11, 10) == 0


def test_working_time_over_months(helpline):
    january = helpline.working_seconds_between(london(2026, 1, 1), london(2026, 2, 1)) / 3600
    year = helpline.working_seconds_between(london(2026, 1, 1), london(2027, 1, 1)) / 3600

    # January 2026: 22 weekdays and 5 Saturdays (New Year's Day is not a listed closure).
    assert january == 22 * 7 + 5 * 4
    # 2026: 261 weekdays and 52 Saturdays, less Christmas Day and the 28th.
    assert year == 261 * 7 + 52 * 4 - 2 * 7


@pytest.mark.parametrize(
    ("day", "expected_hours"),
    [
        pytest.param(london(2026, 3, 29), 23, id="clocks-go-forward"),
        pytest.param(london(2026, 10, 25), 25, id="clocks-go-back"),
        pytest.param(london(2026, 6, 7), 24, id="ordinary-sunday"),
    ],
)
def test_a_day_of_round_the_clock_opening_lasts_as_long_as_the_day(
    round_the_clock, day, expected_hours
):
    # Adding a day to an aware datetime moves the wall clock: this is the next midnight.
    seconds = round_the_clock.working_seconds_between(day, day + timedelta(days=1))

    assert seconds == expected_hours * 3600


@pytest.mark.parametrize(
    ("day", "expected_hours"),
    [
        pytest.param(london(2026, 3, 29), 2, id="clocks-go-forward"),
        pytest.param(london(2026, 10, 25), 4, id="clocks-go-back"),
        pytest.param(london(2026, 6, 7), 3, id="ordinary-sunday"),
    ],
)
def test_hours_through_the_night_follow_the_wall_clock(day, expected_hours):
    # Open midnight to 3am on Sundays: the clocks change at 1am, inside those hours.
    small_hours = hours({"sun": [["00:00", "03:00"]]})
    seconds = small_hours.working_seconds_between(day, day + timedelta(days=1))

    assert seconds == expected_hours * 3600
    assert small_hours.next_closing(day) == day.replace(hour=3)


@pytest.mark.parametrize(
    ("day", "interval", "expected_minutes"),
    [
        # Going forward, 1am becomes 2am: a time in between is reached at the jump.
        pytest.param(london(2026, 3, 29), ["01:15", "01:45"], 0, id="forward-skipped"),
        pytest.param(london(2026, 3, 29), ["01:30", "03:00"], 60, id="forward-opens-in-gap"),
        pytest.param(london(2026, 3, 29), ["00:00", "01:30"], 60, id="forward-closes-in-gap"),
        # Going back, 2am becomes 1am: open from the first 1:30 to the second.
        pytest.param(london(2026, 10, 25), ["01:30", "03:00"], 150, id="back-opens-twice"),
        pytest.param(london(2026, 10, 25), ["00:00", "01:30"], 150, id="back-closes-twice"),
        # 1:10 (second time round) is after 1:20 (first time round): count that time once.
        pytest.param(
            london(2026, 10, 25),
            [["00:00", "01:10"], ["01:20", "03:00"]],
            240,
            id="back-two-intervals-counted-once",
        ),
    ],
)
def test_opening_or_closing_in_the_hour_the_clocks_change(day, interval, expected_minutes):
    intervals = interval if isinstance(interval[0], list) else [interval]
    changing = hours({"sun": intervals})

    assert changing.working_seconds_between(day, day + timedelta(days=1)) == expected_minutes * 60


def test_opening_in_the_skipped_hour_opens_when_the_clocks_jump():
    opens = hours({"sun": [["01:30", "03:00"]]}).next_opening(london(2026, 3, 29))

    assert opens == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert (opens.hour, opens.utcoffset()) == (2, timedelta(hours=1))


def test_a_queue_ages_questions_by_working_time_now(helpline):
    asked = london(2026, 6, 5, 15)

    with time_machine.travel(london(2026, 6, 8, 10), tick=False):
        waited = helpline.working_seconds_between(asked, timezone.now())

    assert waited == 6 * 3600


# --- Deadlines in working hours -------------------------------------------------------


def test_add_working_hours_over_a_weekend(helpline):
    assert helpline.add_working_hours(london(2026, 6, 5, 15), 6) == london(2026, 6, 8, 10)


def test_add_working_hours_ends_at_closing_time_not_the_next_opening(helpline):
    assert helpline.add_working_hours(london(2026, 6, 1, 9), 7) == london(2026, 6, 1, 16)


def test_add_working_hours_from_outside_opening_hours(helpline):
    assert helpline.add_working_hours(london(2026, 6, 7, 12), 1) == london(2026, 6, 8, 10)
    assert helpline.add_working_hours(london(2026, 12, 25, 12), 5) == london(2026, 12, 29, 10)


def test_add_working_hours_counts_real_time_across_a_clock_change(round_the_clock):
    # 24 hours after Saturday noon, the clocks having gone forward, it is 1pm on Sunday.
    deadline = round_the_clock.add_working_hours(london(2026, 3, 28, 12), 24)

    assert deadline == london(2026, 3, 29, 13)


def test_zero_working_hours_is_the_start(helpline):
    sunday = london(2026, 6, 7, 12)

    assert helpline.add_working_hours(sunday, 0) == sunday


@pytest.mark.parametrize("bad", [-1, float("inf"), float("nan")])
def test_add_working_hours_rejects_impossible_durations(helpline, bad):
    with pytest.raises(ValueError, match="hours must be"):
        helpline.add_working_hours(london(2026, 6, 1, 10), bad)


STARTS = [
    london(2026, 6, 1, 9),  # opening time
    london(2026, 6, 1, 16),  # closing time
    london(2026, 6, 5, 15),  # Friday afternoon
    london(2026, 6, 6, 14),  # Saturday afternoon, closed
    london(2026, 6, 7, 3, 30),  # the middle of Sunday night
    london(2026, 12, 24, 15, 45),  # before Christmas closures
    london(2026, 3, 27, 15, 30),  # before the clocks go forward
    london(2026, 10, 24, 12),  # before the clocks go back
]


@pytest.mark.parametrize(
    ("start", "working_hours"),
    list(itertools.product(STARTS, [0.25, 1, 6.5, 7, 40, 500])),
)
def test_add_working_hours_is_the_inverse_of_working_seconds_between(
    helpline, start, working_hours
):
    deadline = helpline.add_working_hours(start, working_hours)

    assert helpline.working_seconds_between(start, deadline) == working_hours * 3600
    # The deadline falls while the service is open (or at the moment it closes).
    assert helpline.is_open(deadline - timedelta(microseconds=1))


# --- Describing the hours -------------------------------------------------------------


def test_describe_the_helpline(helpline):
    assert helpline.describe() == "Monday to Friday 9am–4pm and Saturday 9am–1pm"


@pytest.mark.parametrize(
    ("weekly", "text"),
    [
        pytest.param(
            {day: [["10:00", "14:30"]] for day in HELPLINE["weekly"]},
            "Every day 10am–2:30pm",
            id="every-day",
        ),
        pytest.param(
            {"mon": [WEEKDAYS], "wed": [WEEKDAYS], "thu": [["12:30", "20:00"]]},
            "Monday 9am–4pm, Wednesday 9am–4pm and Thursday 12:30pm–8pm",
            id="days-apart-are-not-grouped",
        ),
        pytest.param(
            {"sat": [["09:00", "12:00"]], "sun": [["09:00", "12:00"]]},
            "Saturday and Sunday 9am–midday",
            id="two-days",
        ),
        pytest.param(
            {d: [["09:00", "12:30"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed")},
            "Monday to Wednesday 9am–12:30pm, 1:30pm–5pm",
            id="lunch-break",
        ),
        pytest.param(
            {"fri": [["18:00", "24:00"]], "sat": [["00:00", "00:30"]]},
            "Friday 6pm–midnight and Saturday midnight–12:30am",
            id="midnight",
        ),
    ],
)
def test_describe(weekly, text):
    assert hours(weekly).describe() == text


# --- Only aware datetimes -------------------------------------------------------------


@pytest.mark.parametrize(
    "ask",
    [
        pytest.param(lambda h, naive: h.is_open(naive), id="is_open"),
        pytest.param(lambda h, naive: h.next_opening(naive), id="next_opening"),
        pytest.param(lambda h, naive: h.next_closing(naive), id="next_closing"),
        pytest.param(lambda h, naive: h.working_seconds_between(naive, naive), id="between"),
        pytest.param(lambda h, naive: h.add_working_hours(naive, 1), id="add_working_hours"),
    ],
)
def test_naive_datetimes_are_rejected(helpline, ask):
    naive = london(2026, 6, 1, 10).replace(tzinfo=None)

    with pytest.raises(ValueError, match="timezone-aware"):
        ask(helpline, naive)
