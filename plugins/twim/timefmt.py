"""The date filters of Hebbot's templates: ``datetimeformat``, ``dateformat``, ``timedelta``.

Hebbot renders with minijinja and minijinja-contrib 2.12, whose date filters take the
``time`` crate's format descriptions (``[year]/[month]/[day]``) or one of the names
``short``, ``medium``, ``long``, ``full``, ``iso`` and ``unix``. twim-config's template
relies on ``iso``, ``short`` and a description; this module formats those the same way,
in English as the ``time`` crate does, so that the same template gives the same text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DATETIME_FORMATS",
    "DATE_FORMATS",
    "TimeFormatError",
    "add_timedelta",
    "format_time",
    "to_datetime",
]

DATETIME_FORMATS = {
    "short": "[year]-[month]-[day] [hour]:[minute]",
    "medium": "[month repr:short] [day padding:none] [year] [hour]:[minute]",
    "long": "[month repr:long] [day padding:none] [year] [hour]:[minute]:[second]",
    "full": (
        "[weekday], [month repr:long] [day padding:none] [year]"
        " [hour]:[minute]:[second].[subsecond]"
    ),
    "iso": (
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    ),
    "unix": "[unix_timestamp]",
}
"""The named formats of ``datetimeformat``."""
DATE_FORMATS = {
    "short": "[year]-[month]-[day]",
    "medium": "[month repr:short] [day padding:none] [year]",
    "long": "[month repr:long] [day padding:none] [year]",
    "full": "[weekday], [month repr:long] [day padding:none] [year]",
}
"""The named formats of ``dateformat`` (others are descriptions)."""

_COMPONENT = re.compile(r"\[([a-z_]+)((?:\s+[a-z_]+:[a-z_]+)*)\s*\]")


class TimeFormatError(ValueError):
    """A format description or a time zone that the filters do not know."""


def to_datetime(value: object, tz: str | None = None) -> datetime:
    """``value`` (a datetime, a date, an ISO 8601 string or a Unix time) as an aware
    datetime, in ``tz`` when given (``original`` keeps the value's own offset)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise TimeFormatError(f"not a date or time: {value!r}") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    else:
        raise TimeFormatError(f"not a date or time: {value!r}")
    if tz and tz != "original":
        try:
            moment = moment.astimezone(ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise TimeFormatError(f"unknown time zone {tz!r}") from None
    return moment


def add_timedelta(
    value: object,
    *,
    seconds: float = 0,
    minutes: int = 0,
    hours: int = 0,
    days: int = 0,
    weeks: int = 0,
    months: int = 0,
    years: int = 0,
) -> datetime:
    """Hebbot's ``timedelta`` filter: a month counts 30 days and a year 365, as there."""
    delta = timedelta(
        seconds=seconds,
        minutes=minutes,
        hours=hours,
        days=days + 7 * weeks + 30 * months + 365 * years,
    )
    return to_datetime(value) + delta


def format_time(moment: datetime, description: str) -> str:
    """``moment`` written after a ``time`` crate format description (version 2)."""
    out: list[str] = []
    position = 0
    while position < len(description):
        char = description[position]
        if char == "\\" and position + 1 < len(description):
            out.append(description[position + 1])
            position += 2
            continue
        if char != "[":
            out.append(char)
            position += 1
            continue
        match = _COMPONENT.match(description, position)
        if match is None:
            raise TimeFormatError(f"invalid format description at {description[position:]!r}")
        modifiers = dict(part.split(":", 1) for part in match[2].split())
        out.append(_component(moment, match[1], modifiers))
        position = match.end()
    return "".join(out)


def _pad(number: int, width: int, modifiers: dict[str, str]) -> str:
    padding = modifiers.get("padding", "zero")
    if padding == "none":
        return str(number)
    return str(number).rjust(width, " " if padding == "space" else "0")


def _offset(moment: datetime) -> tuple[int, int, int]:
    offset = moment.utcoffset() or timedelta()
    total = int(offset.total_seconds())
    sign = -1 if total < 0 else 1
    return sign, abs(total) // 3600, abs(total) % 3600 // 60


def _component(moment: datetime, name: str, modifiers: dict[str, str]) -> str:
    simple: dict[str, Callable[[], str]] = {
        "year": lambda: _pad(moment.year, 4, modifiers),
        "day": lambda: _pad(moment.day, 2, modifiers),
        "hour": lambda: _pad(
            moment.hour if modifiers.get("repr") != "12" else (moment.hour % 12 or 12),
            2,
            modifiers,
        ),
        "minute": lambda: _pad(moment.minute, 2, modifiers),
        "second": lambda: _pad(moment.second, 2, modifiers),
        # The time crate's default: as many digits as the fraction needs, at least one.
        "subsecond": lambda: f"{moment.microsecond:06d}".rstrip("0") or "0",
        "unix_timestamp": lambda: str(int(moment.timestamp())),
        "ordinal": lambda: _pad(moment.timetuple().tm_yday, 3, modifiers),
        "period": lambda: "AM" if moment.hour < 12 else "PM",
        "month": lambda: _month(moment, modifiers),
        "weekday": lambda: _weekday(moment, modifiers),
        "offset_hour": lambda: _offset_hour(moment, modifiers),
        "offset_minute": lambda: _pad(_offset(moment)[2], 2, modifiers),
    }
    if name not in simple:
        raise TimeFormatError(f"unknown component [{name}] in a format description")
    return simple[name]()


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _month(moment: datetime, modifiers: dict[str, str]) -> str:
    # English names whatever the process's locale: the time crate has no other.
    representation = modifiers.get("repr", "numerical")
    name = _MONTHS[moment.month - 1]
    if representation == "long":
        return name
    if representation == "short":
        return name[:3]
    return _pad(moment.month, 2, modifiers)


def _weekday(moment: datetime, modifiers: dict[str, str]) -> str:
    name = _WEEKDAYS[moment.weekday()]
    return name[:3] if modifiers.get("repr") == "short" else name


def _offset_hour(moment: datetime, modifiers: dict[str, str]) -> str:
    sign, hours, _ = _offset(moment)
    text = _pad(hours, 2, modifiers)
    if sign < 0:
        return "-" + text
    return ("+" if modifiers.get("sign") == "mandatory" else "") + text
