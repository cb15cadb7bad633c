"""A real Synapse homeserver for tests: one process, its data, its accounts.

::

    with Synapse(tmp_path / "hs") as synapse:
        alice = synapse.register("alice")
        ...  # talk to synapse.url as alice.access_token

The server keeps its data and ports across :meth:`Synapse.stop` and
:meth:`Synapse.start`, so a test can take it down and bring it back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from mautrix.types import DeviceID, UserID
from ruamel.yaml import YAML

from .synapse_config import (
    INSTANCE_KEY,
    FederationTLS,
    homeserver_config,
    log_config,
    relaxed_ratelimits,
    write_self_signed_certificate,
)
from .synapse_venv import SYNAPSE_VERSION, ensure_synapse_venv

__all__ = ["MatrixAccount", "Synapse", "SynapseError", "free_ports", "login", "unique"]

# Runs Synapse exactly like ``python -m synapse.app.homeserver``, plus a watchdog:
# if the process that started Synapse dies without stopping it (SIGKILL, a crashed
# test run), Synapse stops itself instead of lingering on a shared machine.
_BOOTSTRAP = """\
import os, runpy, signal, sys, threading, time

def watch(parent):
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(15)
    os.kill(os.getpid(), signal.SIGKILL)

threading.Thread(target=watch, args=(int(sys.argv[1]),), daemon=True).start()
sys.argv = ["synapse.app.homeserver", *sys.argv[2:]]
runpy.run_module("synapse.app.homeserver", run_name="__main__", alter_sys=True)
"""


class SynapseError(RuntimeError):
    """Synapse failed to start, or refused a request of the harness."""


@dataclass(frozen=True)
class MatrixAccount:
    """A registered user and a logged-in device of theirs."""

    user_id: UserID
    access_token: str
    device_id: DeviceID
    password: str
    homeserver_url: str


def free_ports(host: str = "127.0.0.1", count: int = 1) -> list[int]:
    """``count`` distinct TCP ports on ``host`` that are free right now."""
    sockets = []
    try:
        # All sockets stay bound until every port is picked, so none repeats.
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def unique(name: str) -> str:
    """``name`` with 8 random hex digits: a user name no other test on the server takes."""
    return f"{name}{uuid.uuid4().hex[:8]}"


class Synapse:
    """One Synapse homeserver process on loopback, with its data in ``work_dir``.

    Ports are chosen when the object is made (``port=0``: a free one) and kept
    for its lifetime. ``federation_port`` adds a TLS federation listener on
    ``host`` (``0``: a free port); the server name then defaults to
    ``host:federation_port``, the name other servers reach it by. Without it,
    the server name is ``localhost`` and the server federates with no one.
    ``default_ratelimits`` keeps Synapse's own rate limits instead of lifting them.
    ``extra_config`` overrides top-level keys of the generated homeserver.yaml.
    ``appservices`` are the registration files of application services (read at start).
    """

    def __init__(
        self,
        work_dir: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        server_name: str | None = None,
        federation_port: int | None = None,
        default_ratelimits: bool = False,
        log_level: str = "WARNING",
        venv: Path | None = None,
        version: str = SYNAPSE_VERSION,
        extra_config: Mapping[str, Any] | None = None,
        appservices: Sequence[Path] = (),
        start_timeout: float = 120.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.work_dir = Path(work_dir).absolute()
        self.host = host
        picked = iter(free_ports(host, [port, federation_port].count(0)))
        self.port = port or next(picked)
        self.federation_port = None if federation_port is None else federation_port or next(picked)
        if server_name is None:
            server_name = "localhost" if self.federation_port is None else self.address
        self.server_name = server_name
        self.default_ratelimits = default_ratelimits
        self.log_level = log_level
        self.venv = venv
        self.version = version
        self.extra_config = dict(extra_config or {})
        self.appservices = list(appservices)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._secrets = {
            key: secrets.token_urlsafe(32)
            for key in ("registration_shared_secret", "macaroon_secret_key", "form_secret")
        }
        self._instance = secrets.token_hex(8)
        self._process: subprocess.Popen[bytes] | None = None
        #: How long the last :meth:`start` took until the server answered, in seconds.
        self.last_start_seconds: float | None = None

    @property
    def address(self) -> str:
        """``host:federation_port``: where other servers reach this one."""
        return f"{self.host}:{self.federation_port}"

    @property
    def url(self) -> str:
        """Base URL of the client-server API."""
        return f"http://{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        """Synapse's own log (at ``log_level``)."""
        return self.work_dir / "homeserver.log"

    @property
    def console_file(self) -> Path:
        """What the process wrote to stdout and stderr (tracebacks of a failed start)."""
        return self.work_dir / "console.log"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def user_id(self, localpart: str) -> UserID:
        """The Matrix ID of ``localpart`` on this server."""
        return UserID(f"@{localpart}:{self.server_name}")

    def start(self) -> None:
        """Start the server (installing Synapse first if needed) and wait until it answers.

        Raises :class:`SynapseError` with the end of its log if it exits or does
        not answer within ``start_timeout`` seconds. Does nothing if already running.
        """
        if self.running:
            return
        python = ensure_synapse_venv(self.venv, self.version)
        config_files = self._write_config(python)
        bootstrap = self.work_dir / "run_synapse.py"
        bootstrap.write_text(_BOOTSTRAP)
        began = time.monotonic()
        with self.console_file.open("ab") as console:
            self._process = subprocess.Popen(
                [str(python), str(bootstrap), str(os.getpid()), *config_files],
                cwd=self.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                # Out of the terminal's process group: Ctrl-C goes to whoever
                # started Synapse, which then stops it in order.
                start_new_session=True,
            )
        try:
            self._wait_until_up(self._process, began + self.start_timeout)
        except BaseException:
            self.stop()
            raise
        self.last_start_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``stop_timeout`` seconds. Data is kept."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    async def async_start(self) -> None:
        """:meth:`start` without blocking the event loop (a bot under test keeps running)."""
        await asyncio.to_thread(self.start)

    async def async_stop(self) -> None:
        """:meth:`stop` without blocking the event loop."""
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def register(
        self, localpart: str, password: str | None = None, *, admin: bool = False
    ) -> MatrixAccount:
        """Create a user with the shared-secret registration API and log a device in.

        Implements Synapse's ``POST /_synapse/admin/v1/register``. ``password``
        defaults to a random one, returned in the account.
        """
        password = password or secrets.token_urlsafe(16)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        nonce = _request_json("GET", endpoint)["nonce"]
        mac = hmac.new(self._secrets["registration_shared_secret"].encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode()]))
        mac.update(b"\x00admin" if admin else b"\x00notadmin")
        reply = _request_json(
            "POST",
            endpoint,
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return MatrixAccount(
            user_id=UserID(reply["user_id"]),
            access_token=reply["access_token"],
            device_id=DeviceID(reply["device_id"]),
            password=password,
            homeserver_url=self.url,
        )

    def login(self, localpart: str, password: str) -> MatrixAccount:
        """Log another device of an existing user in (see :func:`login`)."""
        return login(self.url, localpart, password)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the console output and of the log, for error messages."""
        parts = []
        for path in (self.console_file, self.log_file):
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path}\n" + "\n".join(tail))
        return "\n".join(parts) or "(no log written)"

    def _write_config(self, python: Path) -> list[str]:
        """Write homeserver.yaml and its companions; return Synapse's ``-c`` arguments."""
        (self.work_dir / "media_store").mkdir(parents=True, exist_ok=True)
        federation = None
        if self.federation_port is not None:
            federation = FederationTLS(
                self.federation_port, self.work_dir / "tls.crt", self.work_dir / "tls.key"
            )
            if not federation.certificate.exists():
                write_self_signed_certificate(
                    python, self.host, federation.certificate, federation.private_key
                )
        config = homeserver_config(
            server_name=self.server_name,
            host=self.host,
            client_port=self.port,
            data_dir=self.work_dir,
            log_config_file=self.work_dir / "log.yaml",
            secrets=self._secrets,
            instance=self._instance,
            federation=federation,
            appservices=self.appservices,
        )
        if not self.default_ratelimits:
            config.update(relaxed_ratelimits())
        config.update(self.extra_config)
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.dump(log_config(self.log_file, self.log_level), self.work_dir / "log.yaml")
        yaml.dump(config, self.work_dir / "homeserver.yaml")
        return ["-c", str(self.work_dir / "homeserver.yaml")]

    def _wait_until_up(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        """Poll the client listener until this server answers, it dies or time is up.

        ``/.well-known/matrix/client`` is served with the client API, and unlike
        ``/versions`` it tells servers apart: a server that took the port
        meanwhile would answer too, but only this one knows its instance token.
        """
        probe = f"{self.url}/.well-known/matrix/client"
        while True:
            if process.poll() is not None:
                raise SynapseError(
                    f"Synapse in {self.work_dir} exited with status {process.returncode} "
                    f"while starting:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if json.load(response).get(INSTANCE_KEY) == self._instance:
                        return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise SynapseError(
                    f"Synapse in {self.work_dir} did not answer on {self.url} in time:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)


def login(homeserver_url: str, user: str, password: str) -> MatrixAccount:
    """Log a new device of ``user`` (a localpart or Matrix ID) in with a password.

    Implements ``POST /_matrix/client/v3/login`` with ``m.login.password``.
    """
    reply = _request_json(
        "POST",
        f"{homeserver_url}/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
        },
    )
    return MatrixAccount(
        user_id=UserID(reply["user_id"]),
        access_token=reply["access_token"],
        device_id=DeviceID(reply["device_id"]),
        password=password,
        homeserver_url=homeserver_url,
    )


def _request_json(method: str, url: str, body: Mapping[str, Any] | None = None) -> Any:
    """A JSON request to a homeserver; a refusal raises :class:`SynapseError`."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        raise SynapseError(f"{method} {url} failed: {e.code} {detail}") from e
