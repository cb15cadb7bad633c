"""One measured run: a fresh fake homeserver process, a fresh bot process, one load.

The fake homeserver (``python -m botkit.testing.fakehs``) offers the commands and
measures the bot through ``/proc``; this module starts both processes, hands the bot
its account, collects the figures and stops everything it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.bots import ROOT, Hello, launch, plugin_states

__all__ = ["Scenario", "run_scenario"]

_STOP_WAIT = 10.0


@dataclass(frozen=True)
class Scenario:
    """``per_sync`` events per sync at ``rate`` events/s (0: as fast as the bot syncs)."""

    per_sync: int
    rate: float

    @property
    def label(self) -> str:
        """``B=1 max`` or ``B=1 500/s``."""
        return f"B={self.per_sync} " + ("max" if self.rate <= 0 else f"{self.rate:g}/s")


def run_scenario(
    bot: str,
    scenario: Scenario,
    events: int,
    *,
    command: str = "pong",
    start_delay: float = 2.0,
    deadline: float = 300.0,
) -> dict[str, Any]:
    """Run ``bot`` under ``scenario`` with ``events`` commands; the fake server's figures."""
    with tempfile.TemporaryDirectory(prefix=f"botkit-bench-{bot}-") as tmp:
        workdir = Path(tmp)
        pid_file = workdir / "bot.pid"
        server_argv = [sys.executable, "-m", "botkit.testing.fakehs", "-n", str(events)]
        server_argv += ["-b", str(scenario.per_sync), "--rate", str(scenario.rate)]
        server_argv += ["--command", command, "--start-delay", str(start_delay)]
        server_argv += ["--deadline", str(deadline), "--watch-pid-file", str(pid_file)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with (workdir / "fakehs.log").open("w") as server_log:
            server = subprocess.Popen(
                server_argv, stdout=subprocess.PIPE, stderr=server_log, text=True, cwd=ROOT, env=env
            )
        bot_proc: subprocess.Popen[bytes] | None = None
        try:
            assert server.stdout is not None
            hello = Hello(**json.loads(_first_line(server.stdout, workdir / "fakehs.log")))
            spec = launch(bot, hello, workdir, scenario.per_sync)
            with (workdir / "bot.log").open("wb") as bot_log:
                bot_proc = subprocess.Popen(
                    spec.argv,
                    cwd=workdir,
                    stdout=bot_log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            pid_file.write_text(str(bot_proc.pid))
            line = server.stdout.readline()
            states = plugin_states(spec.health_url) if spec.health_url else {}
            if not line:
                raise RuntimeError(f"{bot}: no figures; bot log:\n{_tail(workdir / 'bot.log')}")
            result: dict[str, Any] = json.loads(line)
            result["bot_name"] = bot
            result["plugins"] = states
            return result
        finally:
            for proc in (bot_proc, server):
                if proc is not None:
                    _stop(proc)


def _first_line(stream: IO[str], log: Path) -> str:
    line = stream.readline()
    if not line:
        raise RuntimeError(f"the fake homeserver did not start:\n{_tail(log)}")
    return line


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(_STOP_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
