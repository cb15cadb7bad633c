"""``python -m botkit.testing.fakehs``: the fake homeserver as a process, with a load.

It creates a bot account and a room where ``@loadgen`` and the bot are joined, then
prints one JSON line on stdout: ``url``, ``user_id``, ``access_token``, ``room_id``.
Start the bot with those. With ``-n N`` it then offers N commands to the bot (see
:mod:`botkit.testing.fakehs.load`), prints the figures as a second JSON line and
exits; with ``-n 0`` it just serves until SIGINT or SIGTERM.

    python -m botkit.testing.fakehs --port 0 -n 5000 --events-per-sync 1 --rate 500 \\
        --watch-pid-file bot.pid
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from botkit.testing.fakehs.load import Load, LoadSettings
from botkit.testing.fakehs.server import FakeHomeserver

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m botkit.testing.fakehs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    add("-n", "--events", type=int, default=0, help="commands to offer (0: just serve)")
    add("-b", "--events-per-sync", type=int, default=1, help="at most B events per sync")
    add("--rate", type=float, default=0, help="events/s offered (0: B per sync, max rate)")
    add("--command", choices=["pong", "ping"], default="pong", help="!pong <i> or !ping")
    add("--start-delay", type=float, default=2.0, help="s after the bot's first sync")
    add("--deadline", type=float, default=300.0, help="s to wait for the answers")
    add("--startup-timeout", type=float, default=120.0, help="s to wait for the bot")
    add("--watch-pid-file", type=Path, help="file with the bot's pid, for CPU and memory")
    add("--echo-sends", action="store_true", help="serve the bot its own answers back")
    add("--user", default="bot", help="the bot's localpart")
    return parser


def _pid_reader(path: Path | None) -> int | None:
    if path is None:
        return None
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


async def _serve(args: argparse.Namespace) -> dict[str, object] | None:
    hs = FakeHomeserver(
        events_per_sync=args.events_per_sync if args.events else None,
        echo_sends=args.echo_sends,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await hs.start(args.port)
    try:
        bot = hs.create_user(args.user)
        token = hs.create_token(args.user)
        sender = hs.create_user("loadgen")
        room = hs.create_room("loadgen", members=[args.user], name="bench")
        hello = {"url": url, "user_id": bot, "access_token": token, "room_id": room}
        print(json.dumps(hello), flush=True)
        if not args.events:
            await stop.wait()
            return None
        settings = LoadSettings(
            events=args.events,
            per_sync=args.events_per_sync,
            rate=args.rate,
            command=args.command,
            start_delay=args.start_delay,
            deadline=args.deadline,
            startup_timeout=args.startup_timeout,
        )
        load = Load(hs, room, sender, bot, settings, lambda: _pid_reader(args.watch_pid_file))
        hs.hooks = load
        running = asyncio.create_task(load.run())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not running.done():
            running.cancel()
            return None
        return running.result()
    finally:
        await hs.close()


def main() -> None:
    """Command line entry point."""
    args = _parser().parse_args()
    result = asyncio.run(_serve(args))
    if result is not None:
        print(json.dumps(result, separators=(",", ":")), flush=True)
    elif args.events:
        sys.exit(1)


if __name__ == "__main__":
    main()
