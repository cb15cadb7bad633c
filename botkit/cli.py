"""The ``botkit`` command: ``init``, ``check`` and ``run``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from .config import BotConfig, load_config, write_sample
from .errors import BotkitError, ConfigError

__all__ = ["main"]

EXIT_PROBLEMS = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="botkit", description="Run a Matrix bot with plugins.")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="write a fully commented config file")
    init.add_argument("path", nargs="?", default="config.yaml", type=Path)
    for name, text in (
        ("check", "validate the config and load every enabled plugin without connecting"),
        ("run", "run the bot until SIGINT or SIGTERM (SIGHUP reloads the config)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("-c", "--config", default="config.yaml", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "init":
        try:
            write_sample(args.path)
        except BotkitError as e:
            print(f"botkit init: {e}", file=sys.stderr)
            return EXIT_PROBLEMS
        print(f"wrote {args.path}; fill in homeserver.url, user_id and access_token")
        return 0
    try:
        # check only reads: a validator that rewrote the file would surprise.
        config = load_config(args.config, upgrade=args.command == "run")
    except ConfigError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    if args.command == "check":
        return _check(config)
    try:
        _setup_logging(config)
    except OSError as e:
        print(f"botkit run: cannot write logging.file {config.logging.file}: {e}", file=sys.stderr)
        return 1
    try:
        asyncio.run(_run(config))
    except BotkitError as e:
        logging.getLogger("botkit").error("%s", e)
        return 1
    return 0


def _check(config: BotConfig) -> int:
    from .loader import discover, plan_instances

    sources, problems = discover(config.plugin_dirs)
    plans, more = plan_instances(config, sources)
    problems += more
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return EXIT_PROBLEMS
    from .exposure import exposures

    for warning in exposures(config):
        print(f"warning: {warning}", file=sys.stderr)
    names = ", ".join(f"{p.name} ({p.source.id} {p.source.version})" for p in plans) or "none"
    print(f"{config.path}: OK; plugin instances: {names}")
    return 0


def _setup_logging(config: BotConfig) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if config.logging.file is not None:
        from .private import protect

        # The log may quote what the bot received: readable by the bot's user only.
        protect([config.logging.file])
        handlers = [logging.FileHandler(config.logging.file, encoding="utf-8")]
    logging.basicConfig(
        level=config.logging.level, format=config.logging.format, handlers=handlers, force=True
    )
    # mautrix logs every request at DEBUG/INFO; keep it quiet unless asked.
    logging.getLogger("mau").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def _run(config: BotConfig) -> None:
    from .bot import Bot

    bot = Bot(config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    running = False
    reloads: set[asyncio.Task[None]] = set()

    def reload() -> None:
        if not running:
            # Plugins start only once the homeserver answered; they will read the file then.
            logging.getLogger("botkit").info("SIGHUP ignored: the bot is still starting")
            return
        task = asyncio.create_task(bot.reload_all())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        # Starting may wait for the homeserver indefinitely; a signal must still end it.
        if await _unless_stopped(bot.start(), stop):
            running = True
            if await _unless_stopped(bot.stopped.wait(), stop):
                # Not asked to stop: a failure, which a service manager should see.
                raise BotkitError("the bot stopped on its own; see the errors above")
    finally:
        logging.getLogger("botkit").info("stopping")
        await asyncio.gather(*reloads, return_exceptions=True)
        await bot.stop()


async def _unless_stopped(work: Coroutine[Any, Any, Any], stop: asyncio.Event) -> bool:
    """Run ``work``; True when it finished, False when ``stop`` was set first (it is cancelled)."""
    task = asyncio.create_task(work)
    asked = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, asked}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        asked.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # its exception, if any, is the caller's
    return True
