"""Five-field cron expressions (003's `schedule.cron`): parsing with readable errors and next fire times.

Grammar, per field (minute hour day-of-month month day-of-week):

- `*`, a number, a range `a-b`, and any of these with a step: `*/15`, `1-30/5`, `5/15` (5 to the end, by 15);
  comma-separated lists of those items.
- Month names JAN-DEC and day names SUN-SAT, case-insensitive, wherever a number may stand.
- Day-of-week 0-7 where both 0 and 7 mean Sunday.
- Vixie cron's day rule: if day-of-month and day-of-week are both restricted, a day matches when EITHER
  matches; otherwise both must. As in Vixie cron and cronie, a field counts as unrestricted when it starts
  with `*` (so `*/2` is "unrestricted" for this rule, exactly as crontab(5) describes it).

Not supported, and rejected with a reason: macros (`@daily`), `?`, `L`, `W`, `#`, wrap-around ranges
(`FRI-MON`), seconds or year fields, and expressions that can never fire (`0 0 30 2 *`).

Fire times are wall-clock times in the schedule's time zone. Across daylight-saving changes:
a wall time that does not exist that day (spring-forward gap) is skipped for that day, and a wall time that
occurs twice (fall-back) fires once, at its first occurrence.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

# The rarest satisfiable day is Feb 29 on one given weekday: such days can be 40 years apart (2088 -> 2128).
# Searching a little further than that means every expression parse() accepts finds its next fire time.
MAX_LOOKAHEAD_YEARS = 50

_MONTH_NAMES: Mapping[str, int] = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES: Mapping[str, int] = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
# Longest each month can be; February counts its leap day: `0 0 29 2 *` is legal, it fires in leap years.
_MAX_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_NUMBER = re.compile(r"[0-9]+")
_NAME = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]
    names_label: str = ""


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, _MONTH_NAMES, "a month name (JAN-DEC)"),
    _Field("day-of-week", 0, 7, _DAY_NAMES, "a day name (SUN-SAT)"),
)


@dataclass(frozen=True)
class CronExpression:
    """A parsed 5-field cron expression; build one with `CronExpression.parse`."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday ... 6 = Saturday; a 7 in the text is stored as 0
    day_of_month_star: bool
    day_of_week_star: bool

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        """Parse `text`, or raise ValueError naming the field and what is wrong with it."""
        parts = text.split()
        if parts and parts[0].startswith("@"):
            raise ValueError(f"macros such as {parts[0]!r} are not supported; write the 5 fields instead")
        if len(parts) != len(_FIELDS):
            raise ValueError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}")
        minutes, hours, doms, months, dows = (
            _parse_field(field, part) for field, part in zip(_FIELDS, parts, strict=True)
        )
        expression = cls(
            text=" ".join(parts),
            minutes=tuple(sorted(minutes)),
            hours=tuple(sorted(hours)),
            days_of_month=frozenset(doms),
            months=frozenset(months),
            days_of_week=frozenset(0 if day == 7 else day for day in dows),
            day_of_month_star=parts[2].startswith("*"),
            day_of_week_star=parts[4].startswith("*"),
        )
        expression._check_can_fire(parts)
        return expression

    def __str__(self) -> str:
        return self.text

    def matches_day(self, day: date) -> bool:
        """Whether `day` (a calendar date in the schedule's zone) is one on which the expression fires."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days_of_month
        in_week = day.isoweekday() % 7 in self.days_of_week
        if self.day_of_month_star or self.day_of_week_star:
            return in_month and in_week
        return in_month or in_week

    def matches(self, wall: datetime) -> bool:
        """Whether the wall-clock minute `wall` (its zone and seconds ignored) matches every field."""
        return wall.minute in self.minutes and wall.hour in self.hours and self.matches_day(wall.date())

    def next_after(self, after: datetime, tz: tzinfo) -> datetime:
        """The first fire time strictly after `after` (any aware datetime), as an aware UTC datetime.

        Walks the calendar field by field (month, day, hour, minute) on wall-clock time in `tz`; raises
        ValueError if nothing fires within MAX_LOOKAHEAD_YEARS or before the end of the datetime range.
        """
        if after.tzinfo is None or after.utcoffset() is None:
            raise ValueError("after must be a timezone-aware datetime")
        try:
            local = after.astimezone(tz)
        except OverflowError as exc:
            raise ValueError(f"{after.isoformat()} is too close to the end of the datetime range") from exc
        start = local.replace(second=0, microsecond=0, tzinfo=None, fold=0)
        # Compare in UTC: comparisons between zones treat a time in a repeated hour as unequal to everything.
        after_utc = after.astimezone(UTC)
        # Wall times map to instants in increasing order once second occurrences (fold=1) are left out, so
        # the first candidate later than `after` is the answer. Candidates from the start minute on can still
        # be earlier instants (the same minute, or a fall-back hour's second pass), hence the comparison.
        for wall in self._wall_times_from(start):
            instant = _first_instant(wall, tz)
            if instant is not None and instant > after_utc:
                return instant
        raise ValueError(f"{self.text!r} does not fire within {MAX_LOOKAHEAD_YEARS} years after {after.isoformat()}")

    def _wall_times_from(self, start: datetime) -> Iterator[datetime]:
        """Matching wall-clock minutes at or after `start`, ascending, up to the look-ahead horizon."""
        year, month = start.year, start.month
        for _ in range(MAX_LOOKAHEAD_YEARS * 12 + 1):
            if month in self.months:
                first_day = start.day if (year, month) == (start.year, start.month) else 1
                for day_number in range(first_day, calendar.monthrange(year, month)[1] + 1):
                    day = date(year, month, day_number)
                    if not self.matches_day(day):
                        continue
                    from_start = day == start.date()
                    for hour in self.hours:
                        if from_start and hour < start.hour:
                            continue
                        for minute in self.minutes:
                            if from_start and hour == start.hour and minute < start.minute:
                                continue
                            yield datetime.combine(day, time(hour, minute))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            if year > datetime.max.year:
                return

    def _check_can_fire(self, parts: list[str]) -> None:
        # With both day fields restricted any matching weekday fires; a `*` day-of-month includes the 1st.
        # Only a restricted day-of-month with a `*` day-of-week can name days that no chosen month has.
        if self.day_of_month_star or not self.day_of_week_star:
            return
        if not any(day <= _MAX_DAYS_IN_MONTH[month - 1] for month in self.months for day in self.days_of_month):
            raise ValueError(f"never fires: day-of-month {parts[2]} does not occur in month {parts[3]}")


def _first_instant(wall: datetime, tz: tzinfo) -> datetime | None:
    """The UTC instant of the first occurrence of naive `wall` in `tz`, or None if it does not exist there."""
    try:
        instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        round_trip = instant.astimezone(tz).replace(tzinfo=None)
    except OverflowError:
        return None
    # A wall time inside a spring-forward gap does not survive the round trip through UTC.
    return instant if round_trip == wall else None


def _parse_field(field: _Field, text: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ValueError(f"{field.name}: empty item in list {text!r}")
        base, has_step, step_text = item.partition("/")
        step = _parse_step(field, step_text) if has_step else 1
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            if base.count("-") > 1:
                raise ValueError(f"{field.name}: {base!r} is not a valid range")
            first, _, last = base.partition("-")
            low, high = _parse_value(field, first), _parse_value(field, last)
            if low > high:
                raise ValueError(
                    f"{field.name}: range {base} runs backwards ({low} > {high}); wrap-around ranges are not supported"
                )
        else:
            low = _parse_value(field, base)
            # `5/15` means "from 5 to the end of the field, every 15", as cronie reads it.
            high = field.high if has_step else low
        values.update(range(low, high + 1, step))
    return values


def _parse_step(field: _Field, text: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{field.name}: step {text!r} is not a number")
    step = int(text)
    span = field.high - field.low + 1
    if step == 0:
        raise ValueError(f"{field.name}: step must be at least 1")
    if step > span:
        raise ValueError(f"{field.name}: step {step} is larger than the range {field.low}-{field.high}")
    return step


def _parse_value(field: _Field, text: str) -> int:
    if not text:
        raise ValueError(f"{field.name}: missing value")
    if _NUMBER.fullmatch(text):
        value = int(text)
        if not field.low <= value <= field.high:
            raise ValueError(f"{field.name}: {value} is out of range {field.low}-{field.high}")
        return value
    if _NAME.fullmatch(text) and field.names:
        named = field.names.get(text.upper())
        if named is None:
            raise ValueError(f"{field.name}: {text!r} is not a number or {field.names_label}")
        return named
    wanted = f"a number or {field.names_label}" if field.names else "a number"
    raise ValueError(f"{field.name}: {text!r} is not {wanted}")
