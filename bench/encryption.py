"""``python -m bench.encryption``: an encrypted room next to a plain one, same run.

A real Synapse, the bot as a child process with encryption on, and a matrix-nio
person (with E2EE) sending ``!pong`` at 5 pings/s, first in an encrypted room,
then in an unencrypted one. Prints latency p50/p99 (sent to answer seen, in
ms) and the bot's CPU per pong, and the bot's start-up time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from mautrix.crypto import InboundGroupSession
from mautrix.crypto.store.asyncpg import PgCryptoStore
from mautrix.types import IdentityKey, RoomID, SessionID, SigningKey
from mautrix.util.async_db import Database
from olm.account import Account
from olm.group_session import OutboundGroupSession

from bench.synapse_figures import percentile
from botkit.crypto.olm import mautrix_url
from botkit.testing.bot import BotProcess
from botkit.testing.botconfig import write_bot_config
from botkit.testing.fakehs import procstat
from botkit.testing.person import Person
from botkit.testing.synapse import Synapse, free_ports
from botkit.testing.synapse_venv import default_venv_dir

ROOT = Path(__file__).resolve().parent.parent
PINGS = 50
RATE = 5.0
SESSIONS = 1000


async def _fill_store(database_url: str, user_id: str, count: int) -> int:
    """Put ``count`` inbound Megolm sessions (of made-up rooms) into the bot's crypto store.

    Returns how many inbound sessions the store then holds.
    """
    db = Database.create(mautrix_url(database_url), upgrade_table=PgCryptoStore.upgrade_table)
    await db.start()
    try:
        store = PgCryptoStore(user_id, "botkit", db)
        sender = Account()
        keys = sender.identity_keys
        for i in range(count):
            room = RoomID(f"!bench{i}:localhost")
            outbound = OutboundGroupSession()
            session = InboundGroupSession(
                outbound.session_key,
                SigningKey(keys["ed25519"]),
                IdentityKey(keys["curve25519"]),
                room,
            )
            await store.put_group_session(
                room, IdentityKey(keys["curve25519"]), SessionID(session.id), session
            )
        held: int = await db.fetchval("SELECT COUNT(*) FROM crypto_megolm_inbound_session")
        return held
    finally:
        await db.stop()


async def _start(proc: BotProcess) -> float:
    started = time.monotonic()
    await proc.start()
    return time.monotonic() - started


async def _pings(person: Person, room: str, bot: str, proc: BotProcess) -> tuple[list[int], float]:
    """Latencies (ms) of ``PINGS`` pings at ``RATE``/s, and the bot's CPU seconds per pong."""
    assert proc.proc is not None
    before = procstat.sample(proc.proc.pid)
    latencies: list[int] = []

    async def one(tag: str) -> None:
        started = time.monotonic()
        await person.send(room, f"!pong {tag}")
        await person.answer(room, bot, f"pong {tag}")
        latencies.append(int((time.monotonic() - started) * 1000))

    tasks = []
    for i in range(PINGS):
        tasks.append(asyncio.create_task(one(f"{room[-6:]}-{i}")))
        await asyncio.sleep(1 / RATE)
    await asyncio.gather(*tasks)
    after = procstat.sample(proc.proc.pid)
    assert before is not None and after is not None
    return sorted(latencies), (after.cpu_s - before.cpu_s) / PINGS


async def main() -> None:
    """Run the benchmark and print its figures."""
    with tempfile.TemporaryDirectory(prefix="botkit-e2ee-") as tmp:
        work = Path(tmp)
        synapse = Synapse(work / "synapse", venv=default_venv_dir(ROOT))
        await synapse.async_start()
        try:
            bot = synapse.register(f"bot{uuid.uuid4().hex[:6]}")
            port = free_ports()[0]
            config = write_bot_config(
                work / "config.yaml",
                account=bot,
                plugins=["pong"],
                plugin_dirs=[str(ROOT / "tests" / "core" / "plugins")],
                encryption={"enabled": True},
                web={"port": port},
            )
            proc = BotProcess(config, port, work / "bot.log")
            start_up = await _start(proc)
            try:
                alice = synapse.register(f"alice{uuid.uuid4().hex[:6]}")
                async with Person(alice, work / "nio") as person:
                    encrypted = await person.create_encrypted_room([bot.user_id])
                    plain = await person.create_room([bot.user_id])
                    for room in (encrypted, plain):
                        await person.wait_joined(room, bot.user_id)
                        await person.send(room, "!pong warm-up")
                        await person.answer(room, bot.user_id, "pong warm-up")
                    print(f"{PINGS} pings at {RATE:g}/s per room")
                    print("room         p50 ms  p99 ms  CPU ms/pong")
                    for name, room in (("encrypted", encrypted), ("unencrypted", plain)):
                        lat, cpu = await _pings(person, room, bot.user_id, proc)
                        p50, p99 = percentile(lat, 50), percentile(lat, 99)
                        print(f"{name:<12} {p50:>6} {p99:>7} {cpu * 1000:>12.2f}")
            finally:
                await proc.stop()
            restart = await _start(proc)
            await proc.stop()
            database_url = f"sqlite+aiosqlite:///{work / 'botkit.db'}"
            stored = await _fill_store(database_url, bot.user_id, SESSIONS)
            crowded = await _start(proc)
            await proc.stop()
            print("bot start-up (process start to ready):")
            print(f"  new crypto store                 {start_up:6.2f} s")
            print(f"  restart                          {restart:6.2f} s")
            print(f"  restart, {stored:,} sessions in store  {crowded:6.2f} s")
        finally:
            await synapse.async_stop()


if __name__ == "__main__":
    asyncio.run(main())
