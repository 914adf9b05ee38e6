"""Cron expressions: what parses, what is refused and why, and when a schedule fires, across DST changes."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from datasource_registry.domain.cron import CronExpression

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # DST moves the clock by 30 minutes


def at(tz: ZoneInfo, *fields: int, fold: int = 0) -> datetime:
    return datetime(*fields, tzinfo=tz, fold=fold)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("* * * * *", "minutes", tuple(range(60))),
        ("*/15 * * * *", "minutes", (0, 15, 30, 45)),
        ("1-30/5 * * * *", "minutes", (1, 6, 11, 16, 21, 26)),
        ("5/20 * * * *", "minutes", (5, 25, 45)),
        ("1,2,10-12 * * * *", "minutes", (1, 2, 10, 11, 12)),
        ("0 9-17/4 * * *", "hours", (9, 13, 17)),
        ("0 0 * jan,Mar,DEC *", "months", frozenset({1, 3, 12})),
        ("0 0 * FEB-apr *", "months", frozenset({2, 3, 4})),
        ("0 0 * * mon-FRI", "days_of_week", frozenset({1, 2, 3, 4, 5})),
        ("0 0 * * 7", "days_of_week", frozenset({0})),
        ("0 0 * * 0,7", "days_of_week", frozenset({0})),
        ("0 0 * * 5-7", "days_of_week", frozenset({5, 6, 0})),
        ("0 0 * * SAT,sun", "days_of_week", frozenset({6, 0})),
    ],
)
def test_parse_accepts_standard_syntax(text: str, field: str, expected: object) -> None:
    # Given a standard cron expression / When it is parsed / Then the field holds exactly the listed values
    assert getattr(CronExpression.parse(text), field) == expected


def test_parse_normalises_whitespace() -> None:
    assert str(CronExpression.parse("  0   2 *\t* *  ")) == "0 2 * * *"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"),
        ("0 0 * *", "expected 5 fields"),
        ("0 0 0 * * *", "got 6"),
        ("@daily", "macros such as '@daily' are not supported"),
        ("61 * * * *", "minute: 61 is out of range 0-59"),
        ("* 24 * * *", "hour: 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month: 0 is out of range 1-31"),
        ("0 0 32 * *", "day-of-month: 32 is out of range 1-31"),
        ("0 0 * 13 *", "month: 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week: 8 is out of range 0-7"),
        ("0 0 * JANUARY *", "month: 'JANUARY' is not a number or a month name (JAN-DEC)"),
        ("0 0 * * FUN", "day-of-week: 'FUN' is not a number or a day name (SUN-SAT)"),
        ("MON * * * *", "minute: 'MON' is not a number"),
        ("0 0 * JAN-MON *", "month: 'MON' is not a number or a month name"),
        ("*/0 * * * *", "minute: step must be at least 1"),
        ("*/61 * * * *", "minute: step 61 is larger than the range 0-59"),
        ("*/x * * * *", "minute: step 'x' is not a number"),
        ("*/ * * * *", "minute: step '' is not a number"),
        ("5-1 * * * *", "minute: range 5-1 runs backwards (5 > 1); wrap-around ranges are not supported"),
        ("0 0 * * FRI-MON", "day-of-week: range FRI-MON runs backwards"),
        ("1-2-3 * * * *", "minute: '1-2-3' is not a valid range"),
        ("1- * * * *", "minute: missing value"),
        ("1,,2 * * * *", "minute: empty item in list '1,,2'"),
        ("-1 * * * *", "minute: missing value"),
        ("+1 * * * *", "minute: '+1' is not a number"),
        ("1.5 * * * *", "minute: '1.5' is not a number"),
        ("\u0661 * * * *", "minute: '\u0661' is not a number"),  # an Arabic-Indic digit is not a cron number
        ("0 0 ? * *", "day-of-month: '?' is not a number"),
        ("0 0 L * *", "day-of-month: 'L' is not a number"),
        ("0 0 15W * *", "day-of-month: '15W' is not a number"),
        ("0 0 * * 5#2", "day-of-week: '5#2' is not a number or a day name"),
        ("0 0 30 2 *", "never fires: day-of-month 30 does not occur in month 2"),
        ("0 0 31 4,6,9,11 *", "never fires: day-of-month 31 does not occur in month 4,6,9,11"),
        ("0 0 30,31 FEB *", "never fires"),
    ],
)
def test_parse_rejects_with_a_reason_naming_the_field(text: str, reason: str) -> None:
    # Given an invalid expression / When it is parsed / Then the error says which field and what is wrong
    with pytest.raises(ValueError) as raised:
        CronExpression.parse(text)
    assert reason in str(raised.value)


@pytest.mark.parametrize("text", ["0 0 29 2 *", "0 0 31 1-12 *", "0 0 30 2 MON", "0 0 30,1 2 *"])
def test_parse_accepts_expressions_that_fire_at_least_sometimes(text: str) -> None:
    CronExpression.parse(text)


# --- which days match: the Vixie rule --------------------------------------------------------------


def test_restricted_day_of_month_and_day_of_week_match_either() -> None:
    # Given the 13th or any Friday
    expression = CronExpression.parse("0 0 13 * FRI")
    # Then a Friday that is not the 13th matches, so does a 13th that is not a Friday, and other days do not
    assert expression.matches_day(datetime(2026, 11, 6).date())  # Friday the 6th
    assert expression.matches_day(datetime(2026, 11, 13).date())  # Friday the 13th
    assert expression.matches_day(datetime(2026, 10, 13).date())  # Tuesday the 13th
    assert not expression.matches_day(datetime(2026, 11, 12).date())


def test_a_star_day_field_makes_both_required() -> None:
    # Given `*/2` day-of-month, which starts with `*`, so crontab(5) counts it as unrestricted
    expression = CronExpression.parse("0 0 */2 * MON")
    # Then only Mondays on odd days of the month match
    assert expression.matches_day(datetime(2026, 11, 9).date())  # Monday the 9th
    assert not expression.matches_day(datetime(2026, 11, 2).date())  # Monday the 2nd
    assert not expression.matches_day(datetime(2026, 11, 11).date())  # Wednesday the 11th


# --- next_after: ordinary schedules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        ("*/15 * * * *", utc(2026, 11, 23, 12, 7, 30), utc(2026, 11, 23, 12, 15)),
        ("*/15 * * * *", utc(2026, 11, 23, 12, 15), utc(2026, 11, 23, 12, 30)),  # strictly after
        ("*/15 * * * *", utc(2026, 11, 23, 12, 14, 59, 999999), utc(2026, 11, 23, 12, 15)),
        ("* * * * *", utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 0, 0)),
        ("0 9 * * MON-FRI", utc(2026, 11, 27, 10, 0), utc(2026, 11, 30, 9, 0)),  # Friday -> Monday
        ("0 0 1 1 *", utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0)),
        ("0 0 31 * *", utc(2026, 4, 1), utc(2026, 5, 31)),  # April has no 31st
        ("0 0 29 2 *", utc(2026, 3, 1), utc(2028, 2, 29)),  # the next leap day
        ("30 4 1,15 * 5", utc(2026, 11, 2), utc(2026, 11, 6, 4, 30)),  # Friday comes before the 15th
        # Feb 29 on a Sunday can be 40 years away; the search must reach it without walking minutes.
        ("0 0 29 2 */7", utc(2088, 3, 1), utc(2128, 2, 29)),
    ],
)
def test_next_after_in_utc(text: str, after: datetime, expected: datetime) -> None:
    assert CronExpression.parse(text).next_after(after, UTC) == expected


def test_next_after_uses_wall_clock_in_the_schedule_zone_and_returns_utc() -> None:
    # Given 003's example, daily at 02:00 New York time, asked from a Tokyo-zoned instant
    expression = CronExpression.parse("0 2 * * *")
    after = at(ZoneInfo("Asia/Tokyo"), 2026, 3, 16, 12, 0)  # 2026-03-16 03:00 UTC, 23:00 EDT the day before
    # When the next fire time is computed
    fired = expression.next_after(after, NEW_YORK)
    # Then it is 02:00 EDT on the 16th, given in UTC
    assert fired == utc(2026, 3, 16, 6, 0)
    assert fired.tzinfo is UTC


def test_next_after_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CronExpression.parse("* * * * *").next_after(datetime(2026, 1, 1), UTC)


def test_next_after_gives_up_at_the_end_of_the_calendar() -> None:
    with pytest.raises(ValueError, match="does not fire within"):
        CronExpression.parse("0 0 1 1 *").next_after(utc(9999, 6, 1), UTC)


# --- next_after: daylight-saving changes -----------------------------------------------------------


def test_spring_forward_skips_a_wall_time_that_does_not_exist() -> None:
    # Given 02:30 daily in New York, whose clocks jump from 02:00 to 03:00 on 2026-03-08
    expression = CronExpression.parse("30 2 * * *")
    # When asked on the morning of the change / Then that day is skipped: next is 02:30 EDT on the 9th
    fired = expression.next_after(at(NEW_YORK, 2026, 3, 8, 0, 0), NEW_YORK)
    assert fired == at(NEW_YORK, 2026, 3, 9, 2, 30)
    assert fired == utc(2026, 3, 9, 6, 30)


def test_spring_forward_keeps_the_other_hours() -> None:
    # Given an hourly schedule / Then 01:00 EST is followed by 03:00 EDT, an hour later in real time
    expression = CronExpression.parse("0 * * * *")
    first = expression.next_after(at(NEW_YORK, 2026, 3, 8, 0, 30), NEW_YORK)
    second = expression.next_after(first, NEW_YORK)
    assert first == utc(2026, 3, 8, 6, 0)
    assert second == utc(2026, 3, 8, 7, 0)
    assert second.astimezone(NEW_YORK).hour == 3


def test_fall_back_fires_once_at_the_first_occurrence() -> None:
    # Given 01:30 daily in New York, where 01:00-01:59 happens twice on 2026-11-01
    expression = CronExpression.parse("30 1 * * *")
    # When the fire times of that day and the next are computed
    first = expression.next_after(at(NEW_YORK, 2026, 11, 1, 0, 0), NEW_YORK)
    following = expression.next_after(first, NEW_YORK)
    # Then it fires at the first 01:30 (EDT, 05:30 UTC) and not again at the second one (06:30 UTC)
    assert first == utc(2026, 11, 1, 5, 30)
    assert following == utc(2026, 11, 2, 6, 30)


def test_fall_back_asked_during_the_repeated_hour() -> None:
    # Given it is 01:15 the second time round (EST); 01:30 already fired in the first pass
    expression = CronExpression.parse("30 1 * * *")
    during_second_pass = utc(2026, 11, 1, 6, 15).astimezone(NEW_YORK)
    assert (during_second_pass.hour, during_second_pass.minute, during_second_pass.fold) == (1, 15, 1)
    # Then the next fire is tomorrow, not the repeated 01:30
    assert expression.next_after(during_second_pass, NEW_YORK) == utc(2026, 11, 2, 6, 30)
    # And an hourly schedule resumes at 02:00 EST, after the repeated hour
    assert CronExpression.parse("0 * * * *").next_after(during_second_pass, NEW_YORK) == utc(2026, 11, 1, 7, 0)


def test_berlin_spring_forward_and_fall_back() -> None:
    expression = CronExpression.parse("30 2 * * *")
    # 2026-03-29 02:00 CET jumps to 03:00 CEST: 02:30 is skipped that day
    assert expression.next_after(at(BERLIN, 2026, 3, 29, 0, 0), BERLIN) == utc(2026, 3, 30, 0, 30)
    # 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:30 fires once, at 02:30 CEST
    first = expression.next_after(at(BERLIN, 2026, 10, 25, 0, 0), BERLIN)
    assert first == utc(2026, 10, 25, 0, 30)
    assert expression.next_after(first, BERLIN) == utc(2026, 10, 26, 1, 30)


def test_lord_howe_half_hour_changes() -> None:
    # 2026-10-04 02:00 jumps to 02:30: 02:15 does not exist that day, 02:45 does
    gap_start = at(LORD_HOWE, 2026, 10, 4, 0, 0)
    skipped = CronExpression.parse("15 2 * * *").next_after(gap_start, LORD_HOWE)
    assert skipped.astimezone(LORD_HOWE) == at(LORD_HOWE, 2026, 10, 5, 2, 15)
    kept = CronExpression.parse("45 2 * * *").next_after(gap_start, LORD_HOWE)
    assert kept.astimezone(LORD_HOWE) == at(LORD_HOWE, 2026, 10, 4, 2, 45)
    # 2026-04-05 02:00 falls back to 01:30: 01:45 happens twice and fires at the first (+11:00)
    expression = CronExpression.parse("45 1 * * *")
    first = expression.next_after(at(LORD_HOWE, 2026, 4, 5, 0, 0), LORD_HOWE)
    assert first == utc(2026, 4, 4, 14, 45)
    assert expression.next_after(first, LORD_HOWE) == at(LORD_HOWE, 2026, 4, 6, 1, 45)


# --- next_after against a minute-by-minute reference -----------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One generated field: its cron text and, computed independently of the parser, the values it allows."""

    text: str
    values: frozenset[int]


MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@st.composite
def field_items(draw: st.DrawFn, low: int, high: int, names: list[str] | None, name_base: int) -> FieldSpec:
    def token(value: int) -> str:
        if names and 0 <= value - name_base < len(names) and draw(st.booleans()):
            name = names[value - name_base]
            return draw(st.sampled_from([name, name.lower(), name.title()]))
        return str(value)

    kind = draw(st.sampled_from(["star", "star_step", "value", "range", "range_step", "value_step"]))
    step = draw(st.integers(1, high - low + 1))
    a = draw(st.integers(low, high))
    b = draw(st.integers(a, high))
    if kind == "star":
        return FieldSpec("*", frozenset(range(low, high + 1)))
    if kind == "star_step":
        return FieldSpec(f"*/{step}", frozenset(range(low, high + 1, step)))
    if kind == "value":
        return FieldSpec(token(a), frozenset({a}))
    if kind == "range":
        return FieldSpec(f"{token(a)}-{token(b)}", frozenset(range(a, b + 1)))
    if kind == "range_step":
        return FieldSpec(f"{token(a)}-{token(b)}/{step}", frozenset(range(a, b + 1, step)))
    return FieldSpec(f"{token(a)}/{step}", frozenset(range(a, high + 1, step)))


def fields(low: int, high: int, names: list[str] | None = None, name_base: int = 0) -> st.SearchStrategy[FieldSpec]:
    # Mostly single items, sometimes lists; `*` first keeps the list "unrestricted" for the day rule.
    items = st.lists(field_items(low, high, names, name_base), min_size=1, max_size=3)
    return items.map(
        lambda parts: FieldSpec(",".join(p.text for p in parts), frozenset().union(*(p.values for p in parts)))
    )


@dataclass(frozen=True)
class Reference:
    """A brute-force reading of an expression: the generated sets and the Vixie rule, nothing from cron.py."""

    minute: FieldSpec
    hour: FieldSpec
    day_of_month: FieldSpec
    month: FieldSpec
    day_of_week: FieldSpec

    @property
    def text(self) -> str:
        return " ".join(f.text for f in (self.minute, self.hour, self.day_of_month, self.month, self.day_of_week))

    def fires_at(self, instant: datetime, tz: ZoneInfo) -> bool:
        wall = instant.astimezone(tz)
        if wall.fold == 1:  # the second pass through a repeated hour never fires
            return False
        days_of_week = {0 if d == 7 else d for d in self.day_of_week.values}
        in_month = wall.day in self.day_of_month.values
        in_week = wall.isoweekday() % 7 in days_of_week
        star = self.day_of_month.text.startswith("*") or self.day_of_week.text.startswith("*")
        day_ok = (in_month and in_week) if star else (in_month or in_week)
        return (
            wall.minute in self.minute.values
            and wall.hour in self.hour.values
            and wall.month in self.month.values
            and day_ok
        )


def often_star(low: int, high: int, names: list[str] | None = None, name_base: int = 0) -> st.SearchStrategy[FieldSpec]:
    # Half the time `*`, so that schedules fire often enough to land in the hours that DST moves.
    return st.one_of(st.just(FieldSpec("*", frozenset(range(low, high + 1)))), fields(low, high, names, name_base))


# The search window is a few days: dense schedules are checked against the reference minute by minute, and
# sparse ones are checked not to fire inside the window.
references = st.builds(
    Reference,
    minute=fields(0, 59),
    hour=often_star(0, 23),
    day_of_month=often_star(1, 31),
    month=often_star(1, 12, MONTHS, 1),
    day_of_week=often_star(0, 7, DAYS, 0),
)

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Kolkata",
    "America/Santiago",
]


def _transitions(zone: ZoneInfo) -> list[datetime]:
    """The instants in 2026-2027 at which `zone`'s UTC offset changes, to the hour (start times near DST)."""
    found = []
    instant = utc(2026, 1, 1)
    previous = instant.astimezone(zone).utcoffset()
    while instant < utc(2028, 1, 1):
        instant += timedelta(hours=1)
        offset = instant.astimezone(zone).utcoffset()
        if offset != previous:
            found.append(instant)
            previous = offset
    return found


TRANSITIONS = {name: _transitions(ZoneInfo(name)) for name in ZONES}
WINDOW = timedelta(days=3)


@st.composite
def starts(draw: st.DrawFn, zone_name: str) -> datetime:
    near = TRANSITIONS[zone_name]
    if near and draw(st.booleans()):
        centre = draw(st.sampled_from(near))
        return centre + timedelta(seconds=draw(st.integers(-3 * 3600, 3600)))
    naive = draw(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)))
    return naive.replace(tzinfo=UTC)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=st.data(), reference=references, zone_name=st.sampled_from(ZONES))
def test_next_after_agrees_with_a_minute_by_minute_reference(
    data: st.DataObject, reference: Reference, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    after = data.draw(starts(zone_name))
    try:
        expression = CronExpression.parse(reference.text)
    except ValueError as error:
        # Only a restricted day-of-month under a `*` day-of-week can be refused: no chosen month has the day.
        event("refused: never fires")
        assert "never fires" in str(error)
        assert not reference.day_of_month.text.startswith("*")
        assert reference.day_of_week.text.startswith("*")
        assert all(
            day > calendar.monthrange(2028, month)[1]  # 2028 is a leap year: February's longest
            for month in reference.month.values
            for day in reference.day_of_month.values
        )
        return

    # The parser reads the fields exactly as the generator meant them
    assert set(expression.minutes) == reference.minute.values
    assert expression.months == reference.month.values

    fired = expression.next_after(after, zone)
    candidate = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    expected = None
    while candidate <= after + WINDOW:
        if reference.fires_at(candidate, zone):
            expected = candidate
            break
        candidate += timedelta(minutes=1)

    if expected is None:
        event("fires after the window")
        assert fired > after + WINDOW
        assert reference.fires_at(fired, zone)
    else:
        event("fires within the window")
        assert fired == expected


# --- the data source model uses the parser ---------------------------------------------------------


def test_a_data_source_schedule_refuses_a_bad_cron_with_the_reason() -> None:
    from pydantic import ValidationError

    from datasource_registry.domain.model import Schedule

    with pytest.raises(ValidationError, match="never fires: day-of-month 30 does not occur in month 2"):
        Schedule(cron="0 0 30 2 *")
    assert Schedule(cron=" 0  2 * * * ", timezone="America/New_York").cron == "0 2 * * *"
