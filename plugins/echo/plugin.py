"""The echo plugin ("pingbot"): pongs, the pong store, and the rankings built from it.

Every pong the bot sees (its own, which come back through sync, and other echo
bots') is one measurement. Handlers may run again for the same event after a
crash: :func:`.stats.record` ignores a pong already stored, and botkit gives a
re-run's sends the same transaction IDs, so nothing is stored or said twice.
"""

from __future__ import annotations

from mautrix.types import EventType, MessageEvent, RoomID

from botkit import CommandContext, CommandError, Plugin, Rest, command, on
from botkit.metrics import InstanceCounter

from .pong import Refusal, build_pong, parse_pong
from .render import ranking_html, ranking_text
from .schema import PongTables
from .service import PING_STATS, PingStats, now_ms
from .settings import EchoSettings
from .stats import move_room, prune, record
from .verify import PingBook, PingLookupError
from .web import StatsSite

__all__ = ["EchoPlugin"]

PRUNE_INTERVAL_S = 3600
"""How often pongs older than ``retention_days`` are deleted."""
REFUSED_METRIC = "botkit_echo_pongs_refused_total"
"""The counter of refused pongs, by instance and reason (see :class:`.pong.Refusal`)."""


class EchoPlugin(Plugin):
    """Answers ``!ping`` with a pong, stores every pong seen, ranks homeservers by latency."""

    tables: PongTables
    # A pong stands alone, so a busy ping room is answered in parallel.
    ordered = False
    config_class = EchoSettings
    config: EchoSettings
    stats: PingStats
    pings: PingBook
    """The messages pongs may answer, to check pongs against (``verify_pongs``)."""
    refused: InstanceCounter
    """Pongs that did not count, by :class:`.pong.Refusal`."""

    async def start(self) -> None:
        """Serve the statistics, offer them to other plugins, prune hourly."""
        self.stats = PingStats(self.storage, self.config)
        self.pings = PingBook(self.client.api)
        self.refused = self.metrics.counter(
            REFUSED_METRIC, "Notices in the pong format that did not count, by reason.", "reason"
        )
        StatsSite(self.web, self.stats).register()
        self.services.provide(PING_STATS, self.stats)
        self.scheduler.every(PRUNE_INTERVAL_S, self.prune, name="prune pongs")

    async def stop(self) -> None:
        """Cancel the ping lookups under way."""
        await self.pings.close()

    async def on_room_upgrade(self, old: RoomID, new: RoomID) -> None:
        """The old room's pongs count for its replacement, as pingstat does on a tombstone."""
        moved = await move_room(self.storage, old, new)
        self.log.info("%d pongs of %s now count for %s", moved, old, new)

    async def prune(self) -> None:
        """Delete the pongs sent more than ``retention_days`` ago."""
        cutoff = now_ms() - self.config.retention_days * 86_400_000
        deleted = await prune(self.storage, older_than_ms=cutoff)
        if deleted:
            self.log.info(
                "deleted %d pongs older than %d days", deleted, self.config.retention_days
            )

    @command("ping", help="Answer with a pong saying how long the ping took to arrive")
    async def ping(self, ctx: CommandContext, text: Rest = "") -> None:
        """Pong, with the latency measured now, as other echo bots do (PROTOCOL.md §1)."""
        # The clock is read as the ping is handled, so the latency includes the sync
        # delay but not the time this send takes: what other echo bots report.
        pong = build_pong(ctx.event, now_ms=now_ms(), text=text)
        await self.client.send(ctx.room_id, pong)

    @command("echo", help="Repeat the text (markdown, no raw HTML) as a notice")
    async def echo(self, ctx: CommandContext, text: Rest) -> None:
        """Say ``text`` back, rendered as markdown with raw HTML shown as text."""
        await ctx.reply(text)  # markdown, raw HTML escaped; in the ping's thread, if any

    @command("pingstats", help="Rank the homeservers pinging in this room by median latency")
    async def pingstats(self, ctx: CommandContext, days: int | None = None) -> None:
        """The room's ranking over the last ``days`` days (default: the configured window)."""
        settings = self.config
        days = settings.window_days if days is None else days
        if not 1 <= days <= settings.retention_days:
            raise CommandError(
                f"days must be from 1 to {settings.retention_days} "
                f"(pongs are kept for {settings.retention_days} days)"
            )
        if not settings.records(ctx.room_id):
            await ctx.reply("Pongs are not recorded in this room.", markdown=False)
            return
        rows = await self.stats.ranking(ctx.room_id, max_age_s=days * 86400, limit=settings.top)
        window = "the last day" if days == 1 else f"the last {days} days"
        if not rows:
            await ctx.reply(f"No pongs were seen in this room in {window}.", markdown=False)
            return
        title = f"Median ping latency by homeserver in {window}:"
        await ctx.reply(
            f"{title}\n{ranking_text(rows)}", html=f"<p>{title}</p>{ranking_html(rows)}"
        )

    @on(EventType.ROOM_MESSAGE)
    async def record_pong(self, evt: MessageEvent) -> None:
        """Store the measurement of any echo bot's pong, ours included, if it is genuine."""
        if not self.config.records(evt.room_id):
            return
        pong = parse_pong(evt)
        if pong is None:
            # Before any await: a pong handled in parallel finds its ping remembered.
            self.pings.saw(evt.room_id, evt.event_id, evt.sender)
            return
        if isinstance(pong, Refusal):
            self._refuse(evt, pong)
            return
        if self.config.verify_pongs:
            try:
                refusal = await self.pings.check(pong)
            except PingLookupError:
                # Raised, not refused: the pong may be genuine, and its handling is
                # a failure the bot reports (and may retry), not a verdict.
                self.refused.inc(Refusal.LOOKUP_FAILED)
                raise
            if refusal is not None:
                self._refuse(evt, refusal)
                return
        if await record(self.storage, pong):
            self.log.debug(
                "pong from %s for %s: %d ms",
                pong.responder_server,
                pong.pinger_server,
                pong.latency_ms,
            )

    def _refuse(self, evt: MessageEvent, refusal: Refusal) -> None:
        self.refused.inc(refusal)
        # Debug only: whoever forges pongs can forge many, and the metric counts them.
        self.log.debug("pong %s from %s refused: %s", evt.event_id, evt.sender, refusal)
