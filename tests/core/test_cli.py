"""The ``botkit`` command as a user runs it: ``python -m botkit init|check|run``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mautrix.types import DeviceID, RoomID, UserID

import botkit
from botkit.config import sample_text
from botkit.init_config import with_plugins
from botkit.testing.bot import BotProcess
from botkit.testing.botconfig import write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import MatrixAccount, Synapse, free_ports, unique
from botkit.testing.talk import ask, eventually, wait_joined

PLUGINS = Path(__file__).parent / "plugins"
SOURCE_ROOT = Path(botkit.__file__).resolve().parents[1]


def child_env() -> dict[str, str]:
    """The environment of a user's shell: botkit importable, no config overrides set."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("BOTKIT_") and "__" in k)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    return env


def botkit_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "botkit", *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_config(path: Path, body: str) -> Path:
    """A minimal config for ``check``: a homeserver that is never contacted, and ``body``."""
    path.write_text(
        "homeserver:\n"
        "  url: http://127.0.0.1:9\n"
        '  user_id: "@bot:example.org"\n'
        "  access_token: not-used-by-check\n"
        f"plugin_dirs: [{PLUGINS}]\n" + body
    )
    path.chmod(0o600)  # as ``botkit init`` writes it
    return path


# -- init ----------------------------------------------------------------------------


def test_init_writes_the_commented_sample(tmp_path: Path) -> None:
    result = botkit_cli("init", "bot.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "bot.yaml"
    assert written.read_text() == with_plugins(sample_text())
    assert "# " in written.read_text()
    # It is where the access token goes: readable by its owner only.
    assert written.stat().st_mode & 0o077 == 0
    assert "bot.yaml" in result.stdout


def test_init_without_a_path_writes_config_yaml(tmp_path: Path) -> None:
    assert botkit_cli("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "config.yaml").read_text() == with_plugins(sample_text())


def test_init_never_overwrites_a_file(tmp_path: Path) -> None:
    mine = tmp_path / "bot.yaml"
    mine.write_text("# my own config\n")
    result = botkit_cli("init", str(mine), cwd=tmp_path)
    assert result.returncode != 0
    assert str(mine) in result.stderr and "already exists" in result.stderr
    assert mine.read_text() == "# my own config\n"


# -- check ---------------------------------------------------------------------------


def test_check_accepts_a_good_config_and_lists_the_instances(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "bot.yaml",
        "plugins:\n"
        "  greeter:\n"
        "    plugin: hello\n"
        "    config:\n"
        "      greeting: Howdy\n"
        "  pong:\n"
        "    plugin: pong\n",
    )
    before = config.read_text()
    result = botkit_cli("check", "-c", str(config), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        f"{config}: OK; plugin instances: greeter (hello 1.0.0), pong (pong 1.0.0)\n"
    )
    # Checking only reads: keys the file lacks are added by ``run``, not by ``check``.
    assert config.read_text() == before


def write_broken_plugin(root: Path) -> Path:
    directory = root / "plugins" / "broken"
    directory.mkdir(parents=True)
    (directory / "plugin.yaml").write_text("id: broken\nversion: 1.0.0\nmain: plugin:Broken\n")
    (directory / "plugin.py").write_text("import botkit_no_such_module\n")
    return directory


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "plugins:\n  hello:\n    plugin: [hello\n",
            ["invalid YAML at line 9"],
            id="yaml-syntax",
        ),
        pytest.param("colour: blue\n", ["colour: unknown key"], id="unknown-key"),
        pytest.param(
            "plugins:\n  greeter:\n    plugin: nosuch\n",
            ["plugins.greeter.plugin: unknown plugin 'nosuch' (crashy, echo, guarded, hello, pong"],
            id="unknown-plugin",
        ),
        pytest.param(
            "plugins:\n  greeter:\n    plugin: hello\n    config:\n      greeting: [a, b]\n",
            ["plugins.greeter.config.greeting: expected a string, got a list"],
            id="wrong-type",
        ),
        pytest.param(
            "plugins:\n"
            "  greeter:\n"
            "    plugin: hello\n"
            "    config:\n"
            "      greting: Hi\n"
            "  other:\n"
            "    plugin: nosuch\n",
            [
                "plugins.greeter.config.greting: unknown key",
                "plugins.other.plugin: unknown plugin 'nosuch'",
            ],
            id="two-problems",
        ),
    ],
)
def test_check_reports_each_problem_on_its_own_line(
    tmp_path: Path, body: str, expected: list[str]
) -> None:
    config = write_config(tmp_path / "bot.yaml", body)
    result = botkit_cli("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected), result.stderr
    for line, part in zip(lines, expected, strict=True):
        assert line.startswith(f"{config}: "), line
        assert part in line


def test_check_warns_when_others_can_read_the_config_or_the_database(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bot.yaml", "")
    database = tmp_path / "botkit.db"  # the default database, next to the config
    database.touch()
    for path in (config, database):
        path.chmod(0o644)
    result = botkit_cli("check", "-c", str(config), cwd=tmp_path)
    # Warnings, not problems: the config is valid.
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2, result.stderr
    for path, line in zip((config, database), warnings, strict=True):
        assert line.startswith(f"warning: {path} can be read by everyone"), line


@pytest.mark.parametrize(
    ("web", "warned"),
    [
        pytest.param("web:\n  host: 0.0.0.0\n", True, id="every-address"),
        pytest.param("web:\n  host: 192.0.2.7\n", True, id="public-address"),
        pytest.param("web:\n  host: 0.0.0.0\n  public: true\n", False, id="public-on-purpose"),
        pytest.param("web:\n  host: ::1\n", False, id="ipv6-loopback"),
        pytest.param("web:\n  host: localhost\n", False, id="localhost"),
    ],
)
def test_check_warns_about_a_web_server_open_to_others(
    tmp_path: Path, web: str, warned: bool
) -> None:
    config = write_config(tmp_path / "bot.yaml", web)
    result = botkit_cli("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    if warned:
        assert result.stderr.startswith("warning: web.host is "), result.stderr
        assert "web.public: true" in result.stderr
    else:
        assert result.stderr == ""


def test_check_reports_a_plugin_whose_code_does_not_import(tmp_path: Path) -> None:
    broken = write_broken_plugin(tmp_path)
    config = tmp_path / "bot.yaml"
    config.write_text(
        "homeserver:\n"
        "  url: http://127.0.0.1:9\n"
        '  user_id: "@bot:example.org"\n'
        "  access_token: not-used-by-check\n"
        "plugin_dirs: [plugins]\n"
        "plugins:\n"
        "  mine:\n"
        "    plugin: broken\n"
    )
    result = botkit_cli("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{config}: plugins.mine: ")
    assert str(broken / "plugin.yaml") in line
    assert "import failed: No module named 'botkit_no_such_module'" in line


# -- run -----------------------------------------------------------------------------


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@asynccontextmanager
async def botkit_run(config: Path, **spawn: Any) -> AsyncIterator[asyncio.subprocess.Process]:
    """``botkit run -c <config>`` as a child process (``spawn``: its environment and
    output), killed if it still runs when the block ends."""
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "botkit", "run", "-c", str(config)], **spawn
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def exit_on_sigterm(proc: asyncio.subprocess.Process) -> int:
    """Send ``proc`` SIGTERM; its exit status, which it must give within 30 s."""
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        return await proc.wait()


@dataclass
class Running:
    """``botkit run`` as a child process, and a person in a room with it."""

    process: BotProcess
    alice: TestClient
    room: RoomID
    account: MatrixAccount
    write_config: Callable[[str], Path]

    @property
    def bot_id(self) -> UserID:
        return self.account.user_id

    async def ask(self, body: str, expect: str) -> str:
        answer = await ask(self.alice, self.room, self.bot_id, body, expect)
        return str(answer.content.body)


@pytest.fixture
def user_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``BotProcess`` starts its child with this process's environment: make it a user's."""
    for key in list(os.environ):
        if key.startswith("BOTKIT_") and "__" in key:
            monkeypatch.delenv(key)
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])
    yield


@pytest.fixture
async def running(synapse: Synapse, tmp_path: Path, user_env: None) -> AsyncIterator[Running]:
    bot_account = synapse.register(unique("bot"))
    alice_account = synapse.register(unique("alice"))
    [port] = free_ports()

    def write(greeting: str = "Hello") -> Path:
        return write_bot_config(
            tmp_path / "config.yaml",
            account=bot_account,
            plugins={"hello": {"config": {"greeting": greeting}}},
            plugin_dirs=[str(PLUGINS)],
            web={"port": port},
        )

    process = BotProcess(write(), port, tmp_path / "bot.log")
    try:
        await process.start()
        async with TestClient(alice_account) as alice:
            room = await alice.create_room(invite=[bot_account.user_id])
            await wait_joined(alice, room, bot_account.user_id)
            yield Running(process, alice, room, bot_account, write)
    finally:
        process.kill()


async def test_run_answers_and_stops_cleanly_on_sigterm(running: Running) -> None:
    assert await running.ask("!hello", "greeting number") == (
        f"Hello, {running.alice.user_id}! (greeting number 1)"
    )
    assert await running.process.stop() == 0
    log = read_log(running.process.log_path)
    assert "stopping" in log
    assert "Traceback" not in log


async def test_sighup_rereads_the_config(running: Running) -> None:
    assert "Hello" in await running.ask("!hello", "greeting number")
    running.write_config("Howdy")
    assert running.process.proc is not None
    running.process.proc.send_signal(signal.SIGHUP)
    await eventually(
        lambda: "config reloaded" in read_log(running.process.log_path), what="config reloaded"
    )
    answer = await running.ask("!hello", "greeting number 2")
    assert answer == f"Howdy, {running.alice.user_id}! (greeting number 2)"
    assert await running.process.stop() == 0


async def test_run_exits_1_when_its_token_is_revoked(running: Running) -> None:
    account = running.account
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{account.homeserver_url}/_matrix/client/v3/logout",
            headers={"Authorization": f"Bearer {account.access_token}"},
            json={},
        ) as resp,
    ):
        assert resp.status == 200
    proc = running.process.proc
    assert proc is not None
    # Exiting non-zero lets a service manager see the failure (and restart the bot).
    assert await asyncio.to_thread(proc.wait, 60) == 1
    log = read_log(running.process.log_path)
    assert "the homeserver rejected the access token" in log
    assert "stopped on its own" in log


async def test_run_with_a_token_the_homeserver_does_not_know_exits_1(
    synapse: Synapse, tmp_path: Path
) -> None:
    account = synapse.register(unique("bot"))
    forged = MatrixAccount(
        account.user_id, "syt_not_a_token", account.device_id, "", account.homeserver_url
    )
    config = write_bot_config(tmp_path / "config.yaml", account=forged)
    result = await asyncio.to_thread(botkit_cli, "run", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "does not accept the access token" in result.stderr
    assert "M_UNKNOWN_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


# -- run while the homeserver is down ------------------------------------------------


def write_down_config(tmp_path: Path, **overrides: Any) -> tuple[Path, int, int]:
    """A config whose homeserver port has nothing listening, its port and the web port."""
    homeserver_port, web_port = free_ports(count=2)
    account = MatrixAccount(
        UserID("@bot:localhost"),
        "token",
        DeviceID("DEVICE"),
        "",
        f"http://127.0.0.1:{homeserver_port}",
    )
    config = write_bot_config(
        tmp_path / "config.yaml", account=account, web={"port": web_port}, **overrides
    )
    return config, homeserver_port, web_port


@pytest.fixture
def down_config(tmp_path: Path) -> tuple[Path, int, int]:
    """A config whose homeserver port has nothing listening; its web port."""
    return write_down_config(tmp_path)


async def test_run_waits_for_a_homeserver_that_is_down(
    tmp_path: Path, down_config: tuple[Path, int, int]
) -> None:
    config, homeserver_port, _ = down_config
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log_file:
        output = {"stdout": log_file, "stderr": subprocess.STDOUT}
        env = {**child_env(), "PYTHONUNBUFFERED": "1"}
        async with botkit_run(config, env=env, **output) as proc:
            await eventually(lambda: "waiting for it" in read_log(log_path), what="the warning")
            # The warning names the homeserver; the bot keeps retrying instead of exiting.
            assert f"127.0.0.1:{homeserver_port}" in read_log(log_path)
            assert proc.returncode is None
            assert await exit_on_sigterm(proc) == 0
    log = read_log(log_path)
    assert log.count("waiting for it") == 1, log
    assert "Traceback" not in log


async def test_health_is_served_while_the_bot_waits_for_its_homeserver(tmp_path: Path) -> None:
    config, homeserver_port, web_port = write_down_config(tmp_path, logging={"file": "bot.log"})
    log_path = tmp_path / "bot.log"
    output = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    async with botkit_run(config, env=child_env(), **output) as proc:
        health: dict[str, object] = {}
        async with aiohttp.ClientSession() as session:

            async def waiting() -> bool:
                nonlocal health
                try:
                    async with session.get(f"http://127.0.0.1:{web_port}/_botkit/health") as resp:
                        health = await resp.json()
                except aiohttp.ClientError:
                    return False
                return "waiting for the homeserver" in str(health.get("starting"))

            async with asyncio.timeout(60):
                while True:
                    if await waiting():
                        break
                    await asyncio.sleep(0.1)  # health is polled, as a service manager would
        assert health["ready"] is False
        assert f"127.0.0.1:{homeserver_port}" in str(health["starting"])
        # The log goes to logging.file, which only the bot's user may read.
        assert "waiting for it" in read_log(log_path)
        assert log_path.stat().st_mode & 0o077 == 0
        assert await exit_on_sigterm(proc) == 0


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " ERROR " in line]


def test_a_database_that_refuses_writes_is_one_line_at_start(tmp_path: Path) -> None:
    database = tmp_path / "readonly.db"
    sqlite3.connect(database).close()
    url = f"sqlite+aiosqlite:///file:{database}?mode=ro&uri=true"
    config, _, _ = write_down_config(tmp_path, database={"url": url})
    result = botkit_cli("run", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    [line] = error_lines(result.stderr)
    assert "cannot use the database" in line and "readonly" in line, line


def test_a_web_port_in_use_is_one_line_at_start(
    tmp_path: Path, down_config: tuple[Path, int, int]
) -> None:
    config, _, web_port = down_config
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", web_port))
        taken.listen()
        result = botkit_cli("run", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    [line] = error_lines(result.stderr)
    assert f"cannot serve web.host 127.0.0.1:{web_port}" in line, line


class Forwarder:
    """A TCP port that forwards to the homeserver once opened: a homeserver coming up."""

    def __init__(self, port: int, target: int) -> None:
        self.port = port
        self.target = target
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", self.port)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self.tasks.add(task)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self.writers), return_exceptions=True)


async def test_run_connects_once_the_homeserver_comes_up(
    synapse: Synapse, tmp_path: Path, user_env: None
) -> None:
    bot_account = synapse.register(unique("bot"))
    alice_account = synapse.register(unique("alice"))
    homeserver_port, web_port = free_ports(count=2)
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=bot_account,
        homeserver_url=f"http://127.0.0.1:{homeserver_port}",
        plugins=["hello"],
        plugin_dirs=[str(PLUGINS)],
        web={"port": web_port},
    )
    process = BotProcess(config, web_port, tmp_path / "bot.log")
    forwarder = Forwarder(homeserver_port, int(synapse.url.rsplit(":", 1)[1]))
    ready = asyncio.create_task(process.start())
    try:
        await eventually(lambda: "waiting for it" in read_log(process.log_path), what="warning")
        await forwarder.open()
        async with asyncio.timeout(60):
            await ready
        assert "answers again" in read_log(process.log_path)
        async with TestClient(alice_account) as alice:
            room = await alice.create_room(invite=[bot_account.user_id])
            await wait_joined(alice, room, bot_account.user_id)
            await ask(alice, room, bot_account.user_id, "!hello", "greeting number 1")
        assert await process.stop() == 0
    finally:
        ready.cancel()
        await asyncio.gather(ready, return_exceptions=True)
        process.kill()
        await forwarder.close()
