"""Opening hours of a support service, and working time measured against them.

Pure: no models, no database. A ``SupportService`` keeps the JSON form (``weekly``,
``closures``, ``time_zone``) and builds an :class:`OpeningHours` with
:meth:`OpeningHours.from_json`; the nurse queue and the SLA reminders ask it how many
working seconds a question has waited and when a deadline in working hours falls.

Hours are wall-clock times in the service's time zone, so "9am" stays 9am on both sides
of a clock change. Every computation maps those wall times to instants and does its
arithmetic in UTC: adding or subtracting aware datetimes that share a tzinfo is wall-clock
arithmetic in Python, which is wrong by an hour across a clock change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUTES_PER_DAY = 24 * 60
# A morning, an afternoon and an evening session around two breaks: the most any service
# keeps in a day, and what the admin's weekly form shows, so every stored day can be edited
# there. A night through midnight is 22:00-24:00 on one day and 00:00-06:00 on the next.
MAX_INTERVALS_PER_DAY = 3
EN_DASH = "\N{EN DASH}"  # between the two times of an interval, in describe() and errors

# next_opening / next_closing look this far ahead before giving up: a year of closures
# and then some, without scanning forever for a service that never opens (or never shuts).
LOOKAHEAD_DAYS = 400

_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEYS = ("weekly", "closures", "time_zone")

_Span: TypeAlias = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """One open interval of a day, in minutes after local midnight; ``closes`` may be 1440."""

    opens: int
    closes: int

    def to_json(self) -> list[str]:
        return [_hhmm(self.opens), _hhmm(self.closes)]


@dataclass(frozen=True)
class OpeningHours:
    """When a service is open: the same hours every week, less whole days of closure.

    ``weekly`` has seven entries, Monday first (as ``date.weekday()``), each a sorted tuple
    of intervals that neither overlap nor touch. A night through midnight is written as
    ``["22:00", "24:00"]`` on one day and ``["00:00", "06:00"]`` on the next; the two are
    treated as one stretch of opening.
    """

    weekly: tuple[tuple[Interval, ...], ...]
    closures: frozenset[date]
    time_zone: ZoneInfo

    def __post_init__(self) -> None:
        if len(self.weekly) != len(WEEKDAYS):
            raise ValidationError(
                {"weekly": [f"Expected {len(WEEKDAYS)} days, got {len(self.weekly)}."]}
            )
        errors = [
            error
            for day_name, intervals in zip(DAY_NAMES, self.weekly, strict=True)
            for error in _day_errors(day_name, list(intervals))
        ]
        if any(list(intervals) != sorted(intervals) for intervals in self.weekly):
            errors.append(ValidationError("Each day's intervals must be in order.", code="order"))
        if errors:
            raise ValidationError({"weekly": errors})

    # --- JSON -------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OpeningHours:
        """Validate the stored form and build the hours from it.

        Raises ``ValidationError`` keyed by ``weekly``, ``closures`` and ``time_zone`` (the
        names of the model fields that hold them), reporting every problem at once.
        ``closures`` may be left out; a weekday left out of ``weekly`` is closed.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("Expected an object with weekly, closures and time_zone.")
        errors: dict[str, list[ValidationError]] = {}
        unknown = sorted(str(key) for key in data if key not in _KEYS)
        if unknown:
            errors[NON_FIELD_ERRORS] = [
                ValidationError(
                    f"Unknown key {', '.join(map(repr, unknown))}; expected {', '.join(_KEYS)}.",
                    code="unknown_key",
                )
            ]
        weekly = _parse_weekly(data.get("weekly"), errors)
        closures = _parse_closures(data.get("closures", []), errors)
        time_zone = _parse_time_zone(data.get("time_zone"), errors)
        if errors or weekly is None or time_zone is None:
            raise ValidationError(errors)
        return cls(weekly=weekly, closures=closures, time_zone=time_zone)

    def to_json(self) -> dict[str, Any]:
        """The stored form: every weekday listed, closures sorted."""
        return {
            "weekly": {
                key: [interval.to_json() for interval in intervals]
                for key, intervals in zip(WEEKDAYS, self.weekly, strict=True)
            },
            "closures": [day.isoformat() for day in sorted(self.closures)],
            "time_zone": self.time_zone.key,
        }

    # --- Questions about one moment ------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls in an open interval (opening time included, closing excluded)."""
        _require_aware(at, "at")
        today = self._local_date(at)
        for start, end in self._spans(today - timedelta(days=1), last=today + timedelta(days=1)):
            if start > at:
                return False
            if at < end:
                return True
        return False

    def next_opening(self, after: datetime) -> datetime | None:
        """The first moment at or after ``after`` when the service is open.

        That is ``after`` itself when the service is open then. ``None`` when it does not
        open within ``LOOKAHEAD_DAYS`` (a service with no hours never does).
        """
        _require_aware(after, "after")
        first = self._local_date(after) - timedelta(days=1)
        for start, end in self._spans(first, last=first + timedelta(days=LOOKAHEAD_DAYS)):
            if end > after:
                return self._local(max(start, after))
        return None

    def next_closing(self, after: datetime) -> datetime | None:
        """When the stretch of opening that ``after`` falls in ends.

        ``None`` when the service is closed at ``after``, and when it stays open beyond
        ``LOOKAHEAD_DAYS`` (a service open round the clock never closes). Intervals that
        run into each other over midnight count as one stretch.
        """
        _require_aware(after, "after")
        first = self._local_date(after) - timedelta(days=1)
        last = first + timedelta(days=LOOKAHEAD_DAYS)
        closing: datetime | None = None
        for start, end in self._spans(first, last=last):
            if closing is None:
                if end <= after:
                    continue
                if start > after:
                    return None
            elif start > closing:
                break
            closing = end
        if closing is None or closing >= self._instant(last, MINUTES_PER_DAY, fold=1):
            return None
        return self._local(closing)

    # --- Working time --------------------------------------------------------------------

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of opening hours between two instants; 0 when ``end`` is not after ``start``.

        Walks day by day, so a span of months costs a few hundred steps.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return 0.0
        total = timedelta()
        first = self._local_date(start) - timedelta(days=1)
        for span_start, span_end in self._spans(first, last=self._local_date(end)):
            if span_start >= end:
                break
            if span_end > start:
                total += min(span_end, end) - max(span_start, start)
        return total.total_seconds()

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The earliest instant by which ``hours`` of opening time have passed since ``start``.

        The inverse of :meth:`working_seconds_between`: a deadline "7 working hours" after
        Monday 9am is Monday 4pm (closing time), not Tuesday 9am. Zero hours is ``start``.
        Raises ``ValueError`` for negative or infinite hours, or a service with no hours.
        """
        _require_aware(start, "start")
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number of hours >= 0, not {hours!r}")
        remaining = timedelta(hours=hours)
        if not remaining:
            return self._local(start)
        if not any(self.weekly):
            raise ValueError("This service has no opening hours, so working time never passes.")
        # Closures are a finite list and some weekday has hours, so this ends.
        for span_start, span_end in self._spans(self._local_date(start) - timedelta(days=1)):
            if span_end <= start:
                continue
            begin = max(span_start, start)
            if span_end - begin >= remaining:
                return self._local(begin + remaining)
            remaining -= span_end - begin
        raise AssertionError("unreachable: _spans without `last` never ends")  # pragma: no cover

    # --- Signposting ----------------------------------------------------------------------

    def describe(self) -> str:
        """The weekly hours as a phrase for signposting text.

        Consecutive days with the same hours form a group ("Monday to Friday", "Saturday
        and Sunday", "Every day"); groups are separated by commas with "and" before the
        last, the intervals of one day by commas, and the two times of an interval by an
        en dash. The helpline reads "Monday to Friday 9am-4pm and Saturday 9am-1pm" (with en
        dashes).
        Times read 9am, 12:30pm, midday, midnight. Closures are not mentioned.
        """
        groups: list[tuple[list[int], tuple[Interval, ...]]] = []
        for index, intervals in enumerate(self.weekly):
            if not intervals:
                continue
            if groups and groups[-1][0][-1] == index - 1 and groups[-1][1] == intervals:
                groups[-1][0].append(index)
            else:
                groups.append(([index], intervals))
        if not groups:
            return "Closed"
        phrases = [
            f"{_describe_days(days)} {', '.join(map(_describe_interval, intervals))}"
            for days, intervals in groups
        ]
        if len(phrases) == 1:
            return phrases[0]
        return f"{', '.join(phrases[:-1])} and {phrases[-1]}"

    # --- Internals --------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.time_zone)

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.time_zone).date()

    def _instant(self, day: date, minute: int, *, fold: int) -> datetime:
        """The UTC instant at which the wall clock of ``day`` shows ``minute``.

        A wall time the clocks go back over happens twice: ``fold=0`` picks the first
        (used for openings), ``fold=1`` the second (closings), so a service open over the
        repeated hour is open for all of it. A wall time the clocks skip is reached at the
        moment of the jump.
        """
        wall = datetime.combine(day, time()) + timedelta(minutes=minute)
        moment = wall.replace(tzinfo=self.time_zone, fold=fold).astimezone(UTC)
        if moment.astimezone(self.time_zone).replace(tzinfo=None) == wall:
            return moment
        return _clocks_jump(self.time_zone, wall)

    def _spans(self, first: date, last: date | None = None) -> Iterator[_Span]:
        """Open spans (UTC) of the local dates ``first`` to ``last``, in order.

        Spans never overlap; they may touch (over midnight). Without ``last`` the
        iterator is endless, and yields nothing at all if the service has no hours.
        """
        previous_end: datetime | None = None
        day = first
        while last is None or day <= last:
            if day not in self.closures:
                for interval in self.weekly[day.weekday()]:
                    start = self._instant(day, interval.opens, fold=0)
                    end = self._instant(day, interval.closes, fold=1)
                    # Around a clock change two intervals can map to overlapping
                    # instants; count the time once.
                    if previous_end is not None:
                        start = max(start, previous_end)
                    if end > start:
                        yield start, end
                        previous_end = end
            day += timedelta(days=1)


def validate_opening_hours(value: Any) -> None:
    """The stored form of a service's hours, checked as a model field: empty, or valid."""
    if value:
        try:
            OpeningHours.from_json(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {moment!r}")


def _clocks_jump(time_zone: ZoneInfo, wall: datetime) -> datetime:
    """The instant the clocks jump forward over the non-existent local time ``wall``."""
    # In a gap, fold=1 reads ``wall`` with the offset after the jump (an instant before
    # it) and fold=0 with the offset before (an instant after it).
    before = int(wall.replace(tzinfo=time_zone, fold=1).timestamp())
    after = int(wall.replace(tzinfo=time_zone, fold=0).timestamp())
    offset_before = datetime.fromtimestamp(before, time_zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, time_zone).utcoffset() == offset_before:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_errors(day_name: str, intervals: Sequence[Interval]) -> list[ValidationError]:
    """What is wrong with one day's intervals (each closes after it opens, no overlap, at
    most ``MAX_INTERVALS_PER_DAY``)."""
    errors = []
    if len(intervals) > MAX_INTERVALS_PER_DAY:
        errors.append(
            ValidationError(
                f"{day_name}: at most {MAX_INTERVALS_PER_DAY} intervals a day "
                f"(there are {len(intervals)}).",
                code="too_many_intervals",
            )
        )
    for interval in intervals:
        if not 0 <= interval.opens < MINUTES_PER_DAY:
            errors.append(
                ValidationError(
                    f"{day_name}: an interval cannot open at {_hhmm(interval.opens)}.",
                    code="invalid_time",
                )
            )
        elif not interval.opens < interval.closes <= MINUTES_PER_DAY:
            errors.append(
                ValidationError(
                    f"{day_name}: {_hhmm(interval.opens)}{EN_DASH}{_hhmm(interval.closes)} "
                    "must close after it opens.",
                    code="closes_before_opens",
                )
            )
    ordered = sorted(intervals)
    for earlier, later in pairwise(ordered):
        pair = (
            f"{_hhmm(earlier.opens)}{EN_DASH}{_hhmm(earlier.closes)} and "
            f"{_hhmm(later.opens)}{EN_DASH}{_hhmm(later.closes)}"
        )
        if later.opens < earlier.closes:
            errors.append(
                ValidationError(f"{day_name}: {pair} overlap.", code="overlapping_intervals")
            )
        elif later.opens == earlier.closes:
            errors.append(
                ValidationError(
                    f"{day_name}: {pair} meet; write them as one interval.",
                    code="overlapping_intervals",
                )
            )
    return errors


def _parse_weekly(
    value: object, errors: dict[str, list[ValidationError]]
) -> tuple[tuple[Interval, ...], ...] | None:
    found: list[ValidationError] = []
    if value is None:
        errors["weekly"] = [ValidationError("This field is required.", code="required")]
        return None
    if not isinstance(value, Mapping):
        errors["weekly"] = [
            ValidationError(
                'Expected an object of weekday to intervals, e.g. {"mon": [["09:00", "16:00"]]}.',
                code="invalid",
            )
        ]
        return None
    for key in value:
        if key not in WEEKDAYS:
            found.append(
                ValidationError(
                    f"Unknown weekday {key!r}; use {', '.join(WEEKDAYS)}.",
                    code="unknown_weekday",
                )
            )
    week: list[tuple[Interval, ...]] = []
    for key, day_name in zip(WEEKDAYS, DAY_NAMES, strict=True):
        raw = value.get(key, [])
        if not isinstance(raw, list):
            found.append(
                ValidationError(
                    f'{day_name}: expected a list of intervals like [["09:00", "16:00"]].',
                    code="invalid",
                )
            )
            week.append(())
            continue
        intervals: list[Interval] = []
        for pair in raw:
            if not (
                isinstance(pair, list | tuple)
                and len(pair) == 2
                and all(isinstance(part, str) for part in pair)
            ):
                found.append(
                    ValidationError(
                        f'{day_name}: {pair!r} is not an interval like ["09:00", "16:00"].',
                        code="invalid",
                    )
                )
                continue
            bad = [part for part in pair if not _TIME.fullmatch(part)]
            if bad:
                found.extend(
                    ValidationError(
                        f"{day_name}: {part!r} is not a time in HH:MM form, 00:00 to 24:00.",
                        code="invalid_time",
                    )
                    for part in bad
                )
                continue
            intervals.append(Interval(opens=_minutes(pair[0]), closes=_minutes(pair[1])))
        found.extend(_day_errors(day_name, intervals))
        week.append(tuple(sorted(intervals)))
    if found:
        errors["weekly"] = found
        return None
    return tuple(week)


def _parse_closures(value: object, errors: dict[str, list[ValidationError]]) -> frozenset[date]:
    if not isinstance(value, list):
        errors["closures"] = [
            ValidationError(
                'Expected a list of dates like ["2026-12-25"].',
                code="invalid",
            )
        ]
        return frozenset()
    found: list[ValidationError] = []
    days: set[date] = set()
    for item in value:
        try:
            if not (isinstance(item, str) and _DATE.fullmatch(item)):
                raise ValueError(item)
            days.add(date.fromisoformat(item))
        except ValueError:
            found.append(
                ValidationError(
                    f"{item!r} is not a date in YYYY-MM-DD form.",
                    code="invalid_date",
                )
            )
    if found:
        errors["closures"] = found
    return frozenset(days)


def _parse_time_zone(value: object, errors: dict[str, list[ValidationError]]) -> ZoneInfo | None:
    if value is None:
        errors["time_zone"] = [ValidationError("This field is required.", code="required")]
        return None
    if isinstance(value, str) and value in known_time_zones():
        return ZoneInfo(value)
    errors["time_zone"] = [
        ValidationError(
            f"{value!r} is not a known time zone; use an IANA name like 'Europe/London'.",
            code="unknown_time_zone",
        )
    ]
    return None


@cache
def known_time_zones() -> frozenset[str]:
    # Only IANA names: "localtime" would mean whatever zone the server happens to run in.
    return frozenset(available_timezones() - {"localtime"})


def _describe_days(days: list[int]) -> str:
    if len(days) == len(DAY_NAMES):
        return "Every day"
    if len(days) == 1:
        return DAY_NAMES[days[0]]
    joiner = " and " if len(days) == 2 else " to "
    return f"{DAY_NAMES[days[0]]}{joiner}{DAY_NAMES[days[-1]]}"


def _describe_interval(interval: Interval) -> str:
    if (interval.opens, interval.closes) == (0, MINUTES_PER_DAY):
        return "24 hours"
    return f"{_describe_time(interval.opens)}{EN_DASH}{_describe_time(interval.closes)}"


def _describe_time(minutes: int) -> str:
    """9am, 4pm, 12:30pm; midday and midnight by name, as the NHS content style guide asks."""
    if minutes in (0, MINUTES_PER_DAY):
        return "midnight"
    if minutes == 12 * 60:
        return "midday"
    hour, minute = divmod(minutes, 60)
    suffix = "am" if hour < 12 else "pm"
    clock = str(hour % 12 or 12) + (f":{minute:02d}" if minute else "")
    return f"{clock}{suffix}"
