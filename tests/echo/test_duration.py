"""The duration text of pongs, held against maubot/echo's rule written out plainly.

``maubot_text`` restates the rule of maubot/echo's ``prettify_diff`` and ``plural``
from its documented behaviour, one branch per range as maubot has it; the plugin's
:func:`format_duration` computes the same another way (one ladder of units), so a
slip in either shows as a mismatch.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

import pytest

from plugins.echo.duration import format_duration

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def unit(value: float, name: str, decimals: int | None = None) -> str:
    """maubot's ``plural``: Python's round, singular only for exactly 1."""
    shown = round(value, decimals)
    return f"{shown} {name}" if shown == 1 else f"{shown} {name}s"


def maubot_text(ms: float) -> str:
    """The text maubot's echo bot puts in a pong for a latency of ``ms``."""
    if abs(ms) < 10 * SECOND:
        return f"{round(ms, 1)} ms"
    if abs(ms) < MINUTE:
        return unit(ms / 1000, "second", 1)
    minutes, seconds = divmod(ms / 1000, 60)
    if abs(minutes) < 60:
        return f"{unit(minutes, 'minute')} and {unit(seconds, 'second')}"
    hours, minutes = divmod(minutes, 60)
    if abs(hours) < 24:
        return f"{unit(hours, 'hour')}, {unit(minutes, 'minute')} and {unit(seconds, 'second')}"
    days, hours = divmod(hours, 24)
    return (
        f"{unit(days, 'day')}, {unit(hours, 'hour')}, "
        f"{unit(minutes, 'minute')} and {unit(seconds, 'second')}"
    )


def around(centre: int, reach: int) -> range:
    """Every millisecond within ``reach`` of ``centre``."""
    return range(centre - reach, centre + reach + 1)


def boundaries() -> Iterator[int]:
    """Every millisecond of −70 s … +70 s, and of ±0.7 s around each larger boundary.

    The first range holds the ±10 s and ±60 s switches and every tenth-of-a-second
    rounding; the larger boundaries are each whole minute from −10 minutes to 2
    hours, each whole hour up to 2 days, and both days: where a unit rolls over, the
    seconds' rounding (at .5) can reach 60 and a branch changes.
    """
    yield from range(-70 * SECOND, 70 * SECOND + 1)
    for minute in (*range(-10, -1), *range(2, 121)):
        yield from around(minute * MINUTE, 700)
    for hour in range(2, 49):
        yield from around(hour * HOUR, 700)
    yield from around(DAY, 700)
    yield from around(2 * DAY, 700)


def mismatches(samples: Iterable[float]) -> list[tuple[float, str, str]]:
    found = []
    for ms in samples:
        ours, theirs = format_duration(ms), maubot_text(ms)
        if ours != theirs:
            found.append((ms, ours, theirs))
    return found


def test_every_millisecond_near_a_boundary_reads_as_maubot_writes_it() -> None:
    wrong = mismatches(boundaries())

    assert wrong[:5] == [], f"{len(wrong)} durations differ from maubot's"


def test_any_latency_up_to_two_days_reads_as_maubot_writes_it() -> None:
    rng = random.Random(13)
    samples = [rng.randint(-10 * MINUTE, 2 * DAY) for _ in range(50_000)]

    assert mismatches(samples) == []


def test_fractional_durations_read_as_pingstat_writes_them() -> None:
    # The stats page shows means, which are fractions; pingstat writes them by the same rule.
    rng = random.Random(10)
    samples = [rng.uniform(-10 * MINUTE, 2 * DAY) for _ in range(20_000)]
    samples += [rng.uniform(-10 * SECOND, 10 * SECOND) for _ in range(20_000)]

    assert mismatches(samples) == []


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        # The cases of issue 13, as maubot's echo bot answers them.
        (16_096, "16.1 seconds"),
        (60_501, "1 minute and 1 second"),
        (437, "437 ms"),
        (-9_999, "-9999 ms"),
        (-16_096, "-16.1 seconds"),
        (-65_000, "-2 minutes and 55 seconds"),
        (119_600, "1 minute and 60 seconds"),
        (3_600_000, "1 hour, 0 minutes and 0 seconds"),
        (90_061_000, "1 day, 1 hour, 1 minute and 1 second"),
        (437.25, "437.2 ms"),
        (975.5, "975.5 ms"),
    ],
)
def test_examples_read_as_maubot_writes_them(ms: float, expected: str) -> None:
    assert format_duration(ms) == expected
