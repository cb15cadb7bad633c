"""Durations in words, as maubot's echo bot writes them in pongs and pingstat on its page.

The text is part of the pong (PROTOCOL.md §1), and people compare the pongs of
several bots in one room, so the rule is maubot/echo's to the character:

* under 10 s (in magnitude): the number of milliseconds, ``"437 ms"``; a fraction
  (a mean on the stats page) is rounded to one decimal, ``"437.3 ms"``;
* under 60 s: seconds rounded to one decimal, ``"16.1 seconds"``;
* from a minute on: the seconds are split off by floor division into whole
  minutes, hours and days, stopping at the first unit below its next one (60
  minutes, 24 hours); the larger units are whole, the seconds are rounded half to
  even (Python's ``round``), all units from the largest down are written:
  ``"1 minute and 1 second"`` for 60 501 ms, ``"1 hour, 0 minutes and 0 seconds"``.

Floor division makes negative durations read as maubot's do: −65 s is
``"-2 minutes and 55 seconds"``. Rounding can give ``"1 minute and 60 seconds"``
(119.6 s) or ``"60.0 seconds"`` (59.96 s): maubot says so too, and the text must
match theirs rather than be tidy. A unit is singular only for exactly 1.
"""

from __future__ import annotations

__all__ = ["format_duration"]

# Each step splits a unit off the next one up; the ladder stops at the first next
# unit below its own limit (60 minutes, 24 hours), and days have none.
_STEPS: tuple[tuple[str, int, str, int | None], ...] = (
    ("second", 60, "minute", 60),
    ("minute", 60, "hour", 24),
    ("hour", 24, "day", None),
)


def _count(value: float, unit: str) -> str:
    return f"{value} {unit}" if value == 1 else f"{value} {unit}s"


def format_duration(ms: float) -> str:
    """``ms`` milliseconds in words, exactly as maubot's ``prettify_diff`` writes them."""
    if abs(ms) < 10_000:
        # round(int, 1) is the int itself, so whole milliseconds print without ".0".
        return f"{round(ms, 1)} ms"
    seconds = ms / 1000
    if abs(seconds) < 60:
        return _count(round(seconds, 1), "second")
    parts: list[tuple[float, str]] = []
    whole = seconds
    for unit, size, bigger, limit in _STEPS:
        whole, rest = divmod(whole, size)
        parts.append((rest, unit))
        if limit is None or abs(whole) < limit:
            parts.append((whole, bigger))
            break
    # round() of a float without digits is an int: "5 seconds", never "5.0 seconds".
    words = [_count(round(value), unit) for value, unit in reversed(parts)]
    return ", ".join(words[:-1]) + " and " + words[-1]
