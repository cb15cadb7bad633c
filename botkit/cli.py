"""The ``botkit`` command: ``init``, ``check``, ``plugins``, ``login``, ``run``, ``replay``
and ``appservice-registration``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .config import BotConfig, load_config, sample_text, write_sample
from .errors import BotkitError, ConfigError
from .init_config import with_plugins

if TYPE_CHECKING:
    from .state import StateStore

__all__ = ["main"]

T = TypeVar("T")

EXIT_PROBLEMS = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="botkit", description="Run a Matrix bot with plugins.")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="write a fully commented config file")
    init.add_argument("path", nargs="?", default="config.yaml", type=Path)
    for name, text in (
        ("check", "validate the config and load every enabled plugin without connecting"),
        ("run", "run the bot until SIGINT or SIGTERM (SIGHUP reloads the config)"),
        ("login", "log in with the bot's password (asked for) and keep the device in the database"),
        (
            "appservice-registration",
            "write appservice.registration, the file the homeserver needs for appservice mode",
        ),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("-c", "--config", default="config.yaml", type=Path)
    plugins = sub.add_parser(
        "plugins",
        help="list the plugins found (installed, and in the config's plugin_dirs)",
    )
    plugins.add_argument(
        "-c", "--config", default="config.yaml", type=Path, help="read plugin_dirs from it"
    )
    verify = sub.add_parser(
        "verify",
        help="cross-sign the bot's device (new keys and a recovery key, or an existing one)",
    )
    verify.add_argument("-c", "--config", default="config.yaml", type=Path)
    verify.add_argument(
        "--recovery-key", help="sign the device with the account's existing cross-signing keys"
    )
    replay = sub.add_parser(
        "replay",
        help="retry the dead letters of a plugin instance (once its plugin is fixed)",
        description="Move an instance's dead letters (all, or one event) back to the "
        "events it has to handle. A running bot retries them within seconds, a "
        "stopped one when it starts.",
    )
    replay.add_argument("-c", "--config", default="config.yaml", type=Path)
    replay.add_argument(
        "--list", action="store_true", help="only list the dead letters (of the instance)"
    )
    replay.add_argument("instance", nargs="?", help="the plugin instance, as named in the config")
    replay.add_argument("event_id", nargs="?", help="only this event")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "init":
        try:
            write_sample(args.path, with_plugins(sample_text()))
        except BotkitError as e:
            print(f"botkit init: {e}", file=sys.stderr)
            return EXIT_PROBLEMS
        print(
            f"wrote {args.path}; fill in homeserver.url and user_id, then run"
            f" botkit login -c {args.path} (or set homeserver.access_token)"
        )
        return 0
    if args.command == "plugins":
        return _plugins(args.config)
    try:
        # check only reads: a validator that rewrote the file would surprise.
        config = load_config(args.config, upgrade=args.command == "run")
    except ConfigError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS
    if args.command == "check":
        return _check(config)
    if args.command == "login":
        return _login(config)
    if args.command == "verify":
        return _verify(config, args.recovery_key)
    if args.command == "appservice-registration":
        return _registration(config)
    if args.command == "replay":
        if not (args.list or args.instance):
            print("botkit replay: name the instance to replay, or --list", file=sys.stderr)
            return EXIT_PROBLEMS
        missing = _missing_database(config)
        if missing:
            # Opening it would create an empty database: say what is wrong instead.
            print(f"botkit replay: no database at {missing}; has the bot run?", file=sys.stderr)
            return 1
        if args.list:
            return asyncio.run(_list_dead_letters(config, args.instance))
        return asyncio.run(_replay(config, args.instance, args.event_id))
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
    plans, more = plan_instances(config, sources, thorough=True)
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
    from .upgrades import outdated_rooms, recorded_upgrades

    upgrades = recorded_upgrades(config)
    for plan in plans:
        for line in outdated_rooms(plan.config, upgrades, f"plugins.{plan.name}.config"):
            print(f"{config.path}: warning: {line}")
    return 0


def _registration(config: BotConfig) -> int:
    """Write the registration file (keeping its tokens) and say what to do with it."""
    from .registration import write_registration

    try:
        path = write_registration(config)
    except (BotkitError, OSError) as e:
        print(f"botkit appservice-registration: {e}", file=sys.stderr)
        return 1
    print(
        f"wrote {path}; add it to the homeserver's app_service_config_files (Synapse), "
        "restart the homeserver, and set appservice.enabled: true"
    )
    return 0


def _plugins(path: Path) -> int:
    """List the plugins found: id, version and where; a config, if any, adds its plugin_dirs."""
    from .loader import discover

    dirs: tuple[Path, ...] = ()
    if path.exists():
        try:
            dirs = load_config(path, upgrade=False).plugin_dirs
        except ConfigError as e:
            for problem in e.problems:
                print(problem, file=sys.stderr)
            return EXIT_PROBLEMS
    sources, problems = discover(dirs)
    for source in sorted(sources.values(), key=lambda s: s.id):
        print(f"{source.id} {source.version} {source.location}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not sources:
        print("no plugins found", file=sys.stderr)
    return EXIT_PROBLEMS if problems else 0


def _login(config: BotConfig) -> int:
    """Create the bot's device with its password: the config needs neither token nor password."""
    import getpass

    hs = config.homeserver
    password = hs.password or getpass.getpass(f"Password of {hs.user_id}: ")
    try:
        device = asyncio.run(_create_device(config, password))
    except BotkitError as e:
        print(f"botkit login: {e}", file=sys.stderr)
        return 1
    print(f"logged in as {hs.user_id} (device {device}); its tokens are in the database")
    if hs.access_token:
        print("note: homeserver.access_token in the config is used instead; remove it")
    return 0


def _verify(config: BotConfig, recovery_key: str | None) -> int:
    """Cross-sign the bot's device (see botkit.crypto.verify)."""
    import getpass

    from .crypto import missing_dependency

    missing = missing_dependency()
    if missing is not None:
        print(f"botkit verify: encryption {missing}", file=sys.stderr)
        return 1
    from .crypto.verify import verify

    hs = config.homeserver
    password = hs.password
    if not recovery_key and not password and sys.stdin.isatty():
        password = getpass.getpass(f"Password of {hs.user_id} (to upload the keys): ")
    try:
        print(asyncio.run(verify(config, recovery_key, password)))
    except BotkitError as e:
        print(f"botkit verify: {e}", file=sys.stderr)
        return 1
    return 0


async def _create_device(config: BotConfig, password: str) -> str:
    from mautrix.errors import MatrixError

    from .client import BotHTTPAPI
    from .state import StateStore
    from .storage import create_engine
    from .tokens import password_login, store_login

    hs = config.homeserver
    engine = create_engine(config.database_url)
    http = BotHTTPAPI(hs.url)
    try:
        store = StateStore(engine, hs.user_id)
        await store.setup()
        try:
            tokens, device = await password_login(http, hs.user_id, password, hs.device_name)
        except MatrixError as e:
            raise BotkitError(f"the homeserver {hs.url} refused to log in {hs.user_id}: {e}") from e
        await store_login(store, tokens, device)
        return device
    finally:
        await http.session.close()
        await engine.dispose()


def _missing_database(config: BotConfig) -> str | None:
    """The path of a SQLite database that does not exist, else None."""
    from sqlalchemy.engine import make_url

    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return url.database
    return None


async def _with_state(config: BotConfig, use: Callable[[StateStore], Awaitable[T]]) -> T | None:
    """``use`` the bot's state store; None (and a line on stderr) when the database fails."""
    from sqlalchemy.exc import SQLAlchemyError

    from .state import StateStore
    from .storage import create_engine

    engine = create_engine(config.database_url)
    try:
        store = StateStore(engine, config.homeserver.user_id)
        await store.setup()
        return await use(store)
    except SQLAlchemyError as e:
        print(f"botkit replay: cannot use the database: {e}", file=sys.stderr)
        return None
    finally:
        await engine.dispose()


async def _list_dead_letters(config: BotConfig, instance: str | None) -> int:
    letters = await _with_state(config, lambda store: store.dead_letters(instance))
    if letters is None:
        return 1
    for d in letters:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.failed_at / 1000))
        print(f"{d.instance} {d.event_id} {when} after {d.attempts} tries: {d.error}")
    if not letters:
        print("no dead letters", file=sys.stderr)
    return 0


async def _replay(config: BotConfig, instance: str, event_id: str | None) -> int:
    async def replay(store: StateStore) -> tuple[list[str], dict[str, int]]:
        replayed = await store.replay(instance, event_id)
        return replayed, (await store.dead_letter_counts() if not replayed else {})

    result = await _with_state(config, replay)
    if result is None:
        return 1
    replayed, others = result
    if not replayed:
        which = f"event {event_id} of {instance}" if event_id else instance
        known = ", ".join(f"{n} ({c})" for n, c in sorted(others.items())) or "none"
        print(
            f"botkit replay: no dead letters of {which}; instances with some: {known}",
            file=sys.stderr,
        )
        return 1
    for replayed_id in replayed:
        print(replayed_id)
    print(
        f"{len(replayed)} events of {instance} will be retried: within seconds by a "
        "running bot, else when it starts"
    )
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
