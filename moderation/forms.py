"""Admin forms of Ask Our Nurses: a service's opening hours as a week, not as raw JSON."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from moderation.models import SupportService
from moderation.opening_hours import (
    DAY_NAMES,
    EN_DASH,
    MAX_INTERVALS_PER_DAY,
    WEEKDAYS,
    OpeningHours,
    known_time_zones,
)

# As many intervals a day as the hours may hold: every stored day is shown whole.
INTERVALS_PER_DAY = MAX_INTERVALS_PER_DAY
_TIME_INPUT = forms.TextInput(
    attrs={"placeholder": "HH:MM", "size": 6, "inputmode": "numeric", "autocomplete": "off"}
)


def _slot(day: str, n: int, edge: str) -> str:
    return f"{day}_{n}_{edge}"


def _week_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for day, day_name in zip(WEEKDAYS, DAY_NAMES, strict=True):
        for n in range(1, INTERVALS_PER_DAY + 1):
            fields[_slot(day, n, "opens")] = forms.CharField(
                required=False,
                max_length=5,
                label=f"{day_name} opens" if n == 1 else "then opens again",
                widget=_TIME_INPUT,
            )
            fields[_slot(day, n, "closes")] = forms.CharField(
                required=False, max_length=5, label="closes", widget=_TIME_INPUT
            )
    return fields


# Declared on a class (not added in __init__) so the admin's fieldsets may name them.
WeekFields = type("WeekFields", (forms.Form,), _week_fields())


class SupportServiceForm(WeekFields, forms.ModelForm):  # type: ignore[misc,valid-type]
    """One row per weekday (opening and closing times, and more intervals if the service
    closes for lunch or opens again in the evening), the time zone, and closure dates one
    per line.

    Every day left empty is closed; a service with no times at all has no opening hours
    (a web form, an email address). What is wrong is said beside the day it concerns. A
    stored day with more intervals than the form shows (written around the hours' check) is
    never cut short silently: saving is refused, naming it, until that day is entered again.
    """

    url = forms.URLField(
        required=False, assume_scheme="https", help_text="E.g. the nurse call-back form."
    )
    time_zone = forms.ChoiceField(initial="Europe/London")
    closures = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 14}),
        help_text="Days the service is closed (bank holidays), one YYYY-MM-DD date per line.",
    )

    class Meta:
        model = SupportService
        fields = (
            "key",
            "name",
            "description",
            "phone",
            "relay_prefix",
            "email",
            "url",
            "notes",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = self.fields["time_zone"]
        assert isinstance(zone, forms.ChoiceField)  # noqa: S101  (declared above)
        zone.choices = [(name, name) for name in sorted(known_time_zones())]
        # Stored days the form cannot show whole: day -> every interval stored.
        self._cut: dict[str, list[list[str]]] = {}
        hours = self.instance.hours if self.instance.pk else {}
        if hours:
            self._load(hours)

    def _load(self, hours: dict[str, Any]) -> None:
        self.initial["time_zone"] = hours.get("time_zone", "Europe/London")
        self.initial["closures"] = "\n".join(hours.get("closures", []))
        for day, intervals in (hours.get("weekly") or {}).items():
            if len(intervals) > INTERVALS_PER_DAY:
                self._cut[day] = intervals
            for n, (opens, closes) in enumerate(intervals[:INTERVALS_PER_DAY], start=1):
                self.initial[_slot(day, n, "opens")] = opens
                self.initial[_slot(day, n, "closes")] = closes

    def _refuse_cut_days(self) -> None:
        """A stored day the form shows only in part stays as stored unless it is re-entered."""
        for day, intervals in self._cut.items():
            slots = [
                _slot(day, n, edge)
                for n in range(1, INTERVALS_PER_DAY + 1)
                for edge in ("opens", "closes")
            ]
            if not any(slot in self.changed_data for slot in slots):
                stored = ", ".join(EN_DASH.join(interval) for interval in intervals)
                day_name = dict(zip(WEEKDAYS, DAY_NAMES, strict=True)).get(day, day)
                self.add_error(
                    slots[0],
                    f"{day_name} has {len(intervals)} intervals stored ({stored}); this form "
                    f"shows {INTERVALS_PER_DAY}. Enter {day_name}'s hours again: saving now "
                    "would drop the rest.",
                )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        weekly: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            intervals = []
            for n in range(1, INTERVALS_PER_DAY + 1):
                opens = (cleaned.get(_slot(day, n, "opens")) or "").strip()
                closes = (cleaned.get(_slot(day, n, "closes")) or "").strip()
                if bool(opens) != bool(closes):
                    self.add_error(
                        _slot(day, n, "opens" if not opens else "closes"),
                        "Give both the opening and the closing time, or neither.",
                    )
                elif opens:
                    intervals.append([opens, closes])
            if intervals:
                weekly[day] = intervals
        closures = [line.strip() for line in cleaned.get("closures", "").splitlines()]
        closures = [line for line in closures if line]
        self._refuse_cut_days()
        if self.errors:
            return cleaned
        if not weekly:
            if closures:
                self.add_error("closures", "A service with no opening hours has no closures.")
            cleaned["hours"] = {}
            return cleaned
        hours = {"time_zone": cleaned.get("time_zone"), "weekly": weekly, "closures": closures}
        try:
            cleaned["hours"] = OpeningHours.from_json(hours).to_json()
        except ValidationError as exc:
            self._place_errors(exc)
        return cleaned

    def _place_errors(self, exc: ValidationError) -> None:
        """Put each problem of the hours beside the field it is about."""
        for key, errors in exc.error_dict.items():
            for error in errors:
                message = " ".join(error.messages)
                if key in ("time_zone", "closures"):
                    self.add_error(key, message)
                    continue
                day = next(
                    (d for d, name in zip(WEEKDAYS, DAY_NAMES, strict=True) if name in message),
                    None,
                )
                self.add_error(_slot(day, 1, "opens") if day and key == "weekly" else None, message)

    def save(self, commit: bool = True) -> SupportService:
        self.instance.hours = self.cleaned_data["hours"]
        service: SupportService = super().save(commit=commit)
        return service


def hours_fieldset() -> Any:  # an admin fieldset: (title, options)
    """The admin's layout of the week: one line per day."""
    days = tuple(
        tuple(
            _slot(day, n, edge)
            for n in range(1, INTERVALS_PER_DAY + 1)
            for edge in ("opens", "closes")
        )
        for day in WEEKDAYS
    )
    return (
        "Opening hours",
        {
            "description": (
                "Leave a day empty when the service is closed that day, and every day "
                "empty when it has no opening hours. Times are HH:MM, 24-hour "
                "(24:00 is midnight at the end of the day)."
            ),
            "fields": ("time_zone", *days, "closures"),
        },
    )
