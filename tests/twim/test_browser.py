"""The HTML preview of the draft, opened in headless Chromium.

Needs Debian's ``chromium`` package (``/usr/bin/chromium``); the CI script installs it.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.testing.bot import running_bot
from botkit.testing.synapse import Synapse
from botkit.testing.talk import wait_joined
from tests.twim.world import png, twim_world

CHROMIUM = Path("/usr/bin/chromium")
RED = (200, 30, 30)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser test needs /usr/bin/chromium (Debian: apt-get install chromium)",
)


async def chromium(profile: Path, *args: str) -> bytes:
    """Run headless Chromium with a fresh profile; its standard output."""
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=900,2400",
        "--virtual-time-budget=10000",
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(90):
            out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, out[-2000:]
    return out


def pixels(data: bytes) -> Iterator[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit, non-interlaced RGB or RGBA PNG (a Chromium screenshot)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6) and body[12] == 0
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw, stride, previous = zlib.decompress(idat), width * channels, bytearray(width * channels)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        method, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if method == 1:
                row[i] = (row[i] + left) & 0xFF
            elif method == 2:
                row[i] = (row[i] + up) & 0xFF
            elif method == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif method == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + guess) & 0xFF
        previous = row
        for x in range(0, stride, channels):
            yield row[x], row[x + 1], row[x + 2]


def read(path: Path) -> bytes:
    return path.read_bytes()


async def test_the_preview_page_shows_sections_an_image_and_the_ping_table(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with twim_world(synapse, tmp_path) as w, running_bot(w.config) as bot:
        await wait_joined(w.editor, w.room, w.bot_id)
        report = await w.alice.send_text(
            w.room, "Conduit 0.7 is out, with sliding sync and much faster state resolution."
        )
        shot = await w.alice.send_image(w.room, png(160, 90, RED), filename="conduit.png")
        await w.editor.react(w.room, report, "⭕")
        await w.editor.react(w.room, report, "conduit")
        await w.editor.react(w.room, shot, "⭕")
        await w.bot_reaction(shot, "⭕")
        assert bot.web is not None
        url = f"http://127.0.0.1:{bot.web.port}/_botkit/plugins/twim/"

        dom = (await chromium(tmp_path / "profile1", "--dump-dom", url)).decode()
        png_path = tmp_path / "page.png"
        await chromium(tmp_path / "profile2", f"--screenshot={png_path}", url)
        screenshot = await asyncio.to_thread(read, png_path)

    assert "<h2>Dept of Servers 🏢</h2>" in dom
    assert "<h3>Conduit</h3>" in dom
    assert "Conduit 0.7 is out, with sliding sync" in dom
    assert f'src="/_botkit/plugins/twim/media?event=%24{shot[1:]}"' in dom
    assert "<h2>Dept of Ping 🏓</h2>" in dom
    assert '<td style="text-align:center">blackline.xyz</td>' in dom
    red = sum(
        1
        for r, g, b in pixels(screenshot)
        if abs(r - RED[0]) + abs(g - RED[1]) + abs(b - RED[2]) < 12
    )
    # The image is 160 x 90; most of it must be on screen, drawn from the bot's media route.
    assert red > 160 * 90 * 0.8
