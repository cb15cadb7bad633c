"""``python -m bench.startup``: how fast botkit is ready and how much memory it holds.

Each run starts a fresh fake homeserver (``python -m botkit.testing.fakehs``, just
serving) and a fresh ``botkit run`` with echo and twim (SQLite, sync mode, encryption
off), and reads ``/_botkit/health`` until the first sync is done. It prints the time
from the bot's process start to ready, and the bot's RSS (VmRSS) then and after a
settling second; medians over the runs. ``--modules`` runs the bot once more under
``python -X importtime`` and prints the heaviest top-level packages it imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.bots import PLUGIN_DIRS, ROOT, Hello
from bench.scenario import _first_line, _stop
from botkit.testing.botconfig import write_bot_config
from botkit.testing.synapse import free_ports

__all__ = ["main", "start_once"]

_READY_TIMEOUT = 60.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _health(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            body: dict[str, Any] = json.load(resp)
            return body
    except (OSError, ValueError):
        return None


def start_once(python_flags: list[str] | None = None) -> dict[str, Any]:
    """Start the fake homeserver and the bot; the bot's figures once it is ready."""
    with tempfile.TemporaryDirectory(prefix="botkit-startup-") as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [sys.executable, "-m", "botkit.testing.fakehs"],
            stdout=subprocess.PIPE,
            stderr=(workdir / "fakehs.log").open("w"),
            text=True,
            cwd=ROOT,
            env=env,
        )
        bot: subprocess.Popen[bytes] | None = None
        try:
            assert server.stdout is not None
            hello = Hello(**json.loads(_first_line(server.stdout, workdir / "fakehs.log")))
            port = free_ports()[0]
            config = write_bot_config(
                workdir / "config.yaml",
                account=hello.account(),
                plugins=["echo", "twim"],
                plugin_dirs=[str(d) for d in PLUGIN_DIRS],
                web={"port": port},
                logging={"level": "WARNING"},
            )
            url = f"http://127.0.0.1:{port}/_botkit/health"
            argv = [sys.executable, *(python_flags or []), "-m", "botkit", "run", "-c", str(config)]
            started = time.monotonic()
            with (workdir / "bot.log").open("wb") as log:
                bot = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
            while True:
                health = _health(url)
                if health and health.get("ready"):
                    break
                if bot.poll() is not None or time.monotonic() - started > _READY_TIMEOUT:
                    raise RuntimeError((workdir / "bot.log").read_text()[-2000:])
                time.sleep(0.01)
            ready_s = time.monotonic() - started
            rss_ready = _rss_mb(bot.pid)
            time.sleep(1.0)
            result: dict[str, Any] = {
                "ready_s": ready_s,
                "rss_ready_mb": rss_ready,
                "rss_mb": _rss_mb(bot.pid),
            }
            states = {name: p["state"] for name, p in health["plugins"].items()}
            result["plugins"] = states
            _stop(bot)
            result["log"] = (workdir / "bot.log").read_text()
            return result
        finally:
            for proc in (bot, server):
                if proc is not None:
                    _stop(proc)


def heaviest(importtime_log: str, top: int) -> list[tuple[str, float]]:
    """The top-level packages of an ``-X importtime`` log by cumulative ms, heaviest first."""
    packages: dict[str, float] = {}
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not name.startswith(" ") and "." not in name.strip():
            # A top-level package at nesting level 0 of the log (no indent).
            packages[name.strip()] = packages.get(name.strip(), 0) + int(cumulative) / 1000
    return sorted(packages.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    """Run the bot ``-r`` times; print each run and the medians."""
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("-r", "--repeats", type=int, default=5)
    parser.add_argument("--modules", action="store_true", help="list what the bot imported")
    args = parser.parse_args()
    runs = []
    for i in range(args.repeats):
        run = start_once()
        runs.append(run)
        print(
            f"run {i + 1}: ready {run['ready_s']:.2f} s, RSS {run['rss_ready_mb']:.1f} MB at "
            f"ready, {run['rss_mb']:.1f} MB a second later; {run['plugins']}",
            flush=True,
        )
    ready = statistics.median(r["ready_s"] for r in runs)
    rss = statistics.median(r["rss_mb"] for r in runs)
    print(f"median of {len(runs)}: ready {ready:.2f} s, RSS {rss:.1f} MB")
    if args.modules:
        run = start_once(["-X", "importtime"])
        print("heaviest top-level imports (cumulative ms, under -X importtime):")
        for name, ms in heaviest(run["log"], 25):
            print(f"  {name:<28} {ms:7.1f}")
        names = sorted(
            {
                line.rsplit("|", 1)[1].strip()
                for line in run["log"].splitlines()
                if line.startswith("import time:") and "cumulative" not in line
            }
        )
        watched = ("mautrix.crypto", "olm", "jinja2", "asyncpg", "markdown_it", "ruamel")
        print("watched modules imported: " + ", ".join(w for w in watched if w in names))


if __name__ == "__main__":
    main()
