"""Flood limits on commands: per user and per room, with one polite notice.

Each user and each room has a token bucket (``bot.limits``): ``burst`` commands
at once, then ``per_minute``. A command beyond either limit is not run, so a
flood costs the bot no sends and the lane it sits in moves on at once; the
first refused command of a flood gets one notice, the rest nothing, until the
sender (or room) is let through again. Admins are never limited.

A message that several plugin instances answer is one command: the verdict is
remembered per event.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from mautrix.types import MessageEvent

from .config.model import LimitsConfig
from .context import MessageContext

__all__ = ["CommandLimiter", "Verdict"]

log = logging.getLogger("botkit.limits")
_REMEMBERED_EVENTS = 1024
_MAX_BUCKETS = 10_000


class Verdict(enum.Enum):
    """What becomes of one command."""

    RUN = "run"
    NOTICE = "notice"
    """Refused, and the sender is told (once per flood)."""
    IGNORE = "ignore"
    """Refused silently: the sender was told already."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    told: bool = False

    def refill(self, now: float, burst: int, per_second: float) -> None:
        self.tokens = min(burst, self.tokens + (now - self.updated) * per_second)
        self.updated = now


class _Limit:
    """One token bucket per key (a user or a room); ``burst`` 0 means no limit."""

    def __init__(self, burst: int, per_minute: int) -> None:
        self.burst = burst
        self.per_second = per_minute / 60
        self.buckets: dict[str, _Bucket] = {}

    @property
    def off(self) -> bool:
        return self.burst <= 0 or self.per_second <= 0

    def bucket(self, key: str, now: float) -> _Bucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= _MAX_BUCKETS:
                self._forget_full(now)
            bucket = self.buckets[key] = _Bucket(float(self.burst), now)
        bucket.refill(now, self.burst, self.per_second)
        return bucket

    def wait(self, bucket: _Bucket) -> float:
        """Seconds until ``bucket`` lets one command through."""
        return max(0.0, (1 - bucket.tokens) / self.per_second)

    def _forget_full(self, now: float) -> None:
        for key, bucket in list(self.buckets.items()):
            bucket.refill(now, self.burst, self.per_second)
            if bucket.tokens >= self.burst:
                del self.buckets[key]


class CommandLimiter:
    """Decides whether a command runs; see the module docstring."""

    def __init__(
        self,
        config: LimitsConfig,
        exempt: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._user = _Limit(config.user_burst, config.user_per_minute)
        self._room = _Limit(config.room_burst, config.room_per_minute)
        self._exempt = exempt
        self._clock = clock
        self._verdicts: OrderedDict[str, Verdict] = OrderedDict()
        # The notice for each NOTICE verdict not yet sent, by event ID.
        self._notices: dict[str, str] = {}

    @classmethod
    def unlimited(cls) -> CommandLimiter:
        """A limiter that runs every command."""
        return cls(LimitsConfig(0, 0, 0, 0))

    def check(self, event_id: str, room_id: str, sender: str) -> Verdict:
        """The verdict on the command in ``event_id``; the first answer for an event counts."""
        known = self._verdicts.get(event_id)
        if known is not None:
            # Another instance answers the same message: it is one command, told at most once.
            return Verdict.IGNORE if known is Verdict.NOTICE else known
        verdict, notice = self._decide(room_id, sender)
        if notice:
            self._notices[event_id] = notice
        self._verdicts[event_id] = verdict
        if len(self._verdicts) > _REMEMBERED_EVENTS:
            oldest, _ = self._verdicts.popitem(last=False)
            self._notices.pop(oldest, None)
        return verdict

    def _decide(self, room_id: str, sender: str) -> tuple[Verdict, str]:
        if sender in self._exempt:
            return Verdict.RUN, ""
        now = self._clock()
        user = None if self._user.off else self._user.bucket(sender, now)
        room = None if self._room.off else self._room.bucket(room_id, now)
        if user is not None and user.tokens < 1:
            return self._refuse(
                user, self._user, "you send commands faster than I answer them", "your commands"
            )
        if room is not None and room.tokens < 1:
            return self._refuse(
                room, self._room, "this room sends more commands than I answer", "commands here"
            )
        for bucket in (user, room):
            if bucket is not None:
                bucket.tokens -= 1
                bucket.told = False
        return Verdict.RUN, ""

    def _refuse(self, bucket: _Bucket, limit: _Limit, why: str, what: str) -> tuple[Verdict, str]:
        if bucket.told:
            return Verdict.IGNORE, ""
        bucket.told = True
        seconds = math.ceil(limit.wait(bucket))
        return Verdict.NOTICE, f"Sorry, {why}: I'll ignore {what} for about {seconds} s."

    async def admit(self, ctx: MessageContext) -> bool:
        """Whether the command in ``ctx`` may run; the first one refused gets a notice."""
        event: MessageEvent = ctx.event
        verdict = self.check(event.event_id, event.room_id, event.sender)
        notice = self._notices.pop(event.event_id, None)
        if verdict is Verdict.NOTICE and notice:
            log.info("commands from %s in %s are over the limit", event.sender, event.room_id)
            try:
                await ctx.reply(notice, markdown=False)
            except Exception as e:  # the notice is a courtesy; failing it must not fail more
                log.warning("could not send the flood notice in %s: %s", event.room_id, e)
        return verdict is Verdict.RUN
