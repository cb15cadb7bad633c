"""The no-framework limit: a bare mautrix-python client that answers two commands.

``!ping`` gets a notice naming the sender and the delay, with ``pong: {ms, from,
ping}`` in its content (as the echo plugin answers); ``!pong <tag>`` gets the notice
``pong <tag>`` (as the ``pong`` test plugin answers). Nothing else: no storage, no
plugins, no bookkeeping, events of the first sync ignored. What botkit costs on top of
this is the framework's overhead.

    python -m bench.raw_client --base-url URL --user-id @bot:example.org --token TOKEN
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time

from mautrix.client import Client, MemorySyncStore
from mautrix.types import (
    EventType,
    Filter,
    MessageEvent,
    MessageType,
    RoomEventFilter,
    RoomFilter,
    TextMessageEventContent,
    UserID,
)

__all__ = ["answer", "main"]


def answer(event: MessageEvent, now_ms: int) -> TextMessageEventContent | None:
    """The notice answering ``event``, or None when it is no command of ours."""
    body = getattr(event.content, "body", None)
    if not isinstance(body, str):
        return None
    if body == "!ping" or body.startswith("!ping "):
        took = now_ms - event.timestamp
        content = TextMessageEventContent(
            msgtype=MessageType.NOTICE, body=f"{event.sender}: Pong! ({took} ms)"
        )
        server = event.sender.partition(":")[2]
        content["pong"] = {"ms": took, "from": server, "ping": event.event_id}
        return content
    if body.startswith("!pong"):
        tag = body[len("!pong") :].strip()
        return TextMessageEventContent(msgtype=MessageType.NOTICE, body=f"pong {tag}")
    return None


async def _run(args: argparse.Namespace) -> None:
    client = Client(
        mxid=UserID(args.user_id),
        base_url=args.base_url,
        token=args.token,
        sync_store=MemorySyncStore(),
    )
    client.ignore_initial_sync = True
    client.ignore_first_sync = True

    async def on_message(event: MessageEvent) -> None:
        if event.sender == client.mxid:
            return
        content = answer(event, int(time.time() * 1000))
        if content is not None:
            await client.send_message_event(event.room_id, EventType.ROOM_MESSAGE, content)

    client.add_event_handler(EventType.ROOM_MESSAGE, on_message)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await client.whoami()
        timeline = RoomEventFilter(limit=args.timeline_limit)
        filter_id = await client.create_filter(Filter(room=RoomFilter(timeline=timeline)))
        syncing = client.start(filter_id)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({syncing, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    finally:
        client.stop()
        await client.api.session.close()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeline-limit", type=int, default=50)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level)
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
