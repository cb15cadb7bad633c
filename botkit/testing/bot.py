"""Running a whole bot in a test: in this process, or as a child process to kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from ..bot import Bot
from ..config import load_config

__all__ = ["BotProcess", "running_bot"]


@asynccontextmanager
async def running_bot(config_path: Path, *, ready_timeout: float = 60) -> AsyncIterator[Bot]:
    """A started bot whose first sync is done (or that receives transactions).

    Stopped on exit, also when the test fails.
    """
    bot = Bot(load_config(config_path))
    try:
        await bot.start()
        # Appservice mode has no first sync: ready once it listens.
        if bot.appservice is not None:
            ready = bot.appservice.ready
        else:
            assert bot.syncer is not None
            ready = bot.syncer.first_sync_done
        async with asyncio.timeout(ready_timeout):
            await ready.wait()
        yield bot
    finally:
        await bot.stop()


class BotProcess:
    """``python -m botkit run`` as a child process, for crash and restart tests.

    The config must set a fixed ``web.port``: readiness is read from the
    health endpoint.
    """

    def __init__(
        self,
        config_path: Path,
        port: int,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config_path = config_path
        self.port = port
        self.log_path = log_path
        #: More environment variables (``BOTKIT_WEB__PORT`` for a second process).
        self.env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 60, *, ready: bool = True) -> None:  # noqa: ASYNC109 - a deadline for a child process
        """Start the bot and wait until its first sync is done (or, without ``ready``,
        until its health page answers: a standby)."""
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the wait is async
            [sys.executable, "-m", "botkit", "run", "-c", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        log.close()
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/_botkit/health"
        async with aiohttp.ClientSession() as session:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the bot exited with {self.proc.returncode}: {self.tail()}")
                try:
                    async with session.get(url) as resp:
                        if resp.status == 200 and (not ready or (await resp.json()).get("ready")):
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the bot did not become ready: {self.tail()}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crash or a power cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    async def stop(self, timeout: float = 30) -> int:  # noqa: ASYNC109 - as in start
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    async def health(self) -> dict[str, Any] | None:
        """The health page's answer, or None while nothing answers."""
        url = f"http://127.0.0.1:{self.port}/_botkit/health"
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as resp:
                body = await resp.json()
                return body if isinstance(body, dict) else None
        except (aiohttp.ClientError, ValueError):
            return None

    def tail(self, lines: int = 30) -> str:
        """The end of the bot's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
