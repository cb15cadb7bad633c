"""Parts of published posts, rebuilt from entries and compared line for line.

The expected text in ``data/`` is copied unchanged from matrix.org's posts of 2021-02-12
and 2021-03-05 (see ``data/README.md``). The reports are given as their senders would
have sent them, HTML where a client would have made some. Event ids are chosen so that
the drawn credit verbs are the ones the editor wrote that week.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

from plugins.twim.htmlmd import message_markdown
from plugins.twim.model import Entry, Post, Project, Section
from plugins.twim.render import ping_table, render_post
from tests.twim.builders import entry, image

DATA = Path(__file__).parent / "data"
HTML = "org.matrix.custom.html"
CLIENTS = Section("clients", "Dept of Clients 📱", "📱", 60)
PROJECTS = Section("projects", "Dept of Interesting Projects 🛰️", "🛰️", 110)


def expected(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").rstrip("\n").split("\n")


def lines_from(rendered: str, first: str) -> list[str]:
    lines = rendered.rstrip("\n").split("\n")
    return lines[lines.index(first) :]


def quoted(name: str, first: str, last: str) -> str:
    """A report as its sender typed it: the quote that runs from the line starting with
    ``first`` to the one starting with ``last`` in the published post, unquoted."""
    lines = expected(name)
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i, line in enumerate(lines) if i >= start and line.startswith(last))
    return "\n".join(line.removeprefix(">").removeprefix(" ") for line in lines[start : end + 1])


def paragraphs(*texts: str) -> str:
    return "".join(f"<p>{html.escape(text, quote=False)}</p>" for text in texts)


def test_head_with_front_matter_and_matrix_live() -> None:
    week = Post(
        date=date(2021, 2, 12),
        editor="Ben Parsons",
        sections=[],
        header_image="https://matrix.org/blog/img/{date}-ml.png",
        live_video="wdy3lUxYxuU",
        live_description=(
            "This week we have Neil presenting P2P Matrix over Bluetooth. It's titled"
            ' "P2P Matrix Bluetooth Low Energy demo", but I thought Neil and Matthew brought'
            " a pretty good energy to the video!"
        ),
    )

    head = expected("2021-02-12-head.md")
    assert render_post(week).split("\n")[: len(head)] == head


async def test_dept_of_clients_of_2021_02_12() -> None:
    reference = "2021-02-12-clients.md"
    schildichat = await message_markdown(
        "(plain fallback, not used)",
        '<h1>SchildiChat Web/Desktop</h1><p><a href="https://schildi.chat/">SchildiChat</a> is'
        " a fork of Element, which focuses on UI changes such as message bubbles and a unified"
        " chat list for both direct messages and groups, which is a more familiar approach to"
        " users of other popular instant messengers.</p><p>Thanks to"
        ' <a href="https://matrix.to/#/@michael7801:rapgru.com">@michi7801</a> we can now'
        " provide builds for macOS!! 🍎</p><p>Code on GitHub:"
        ' <a href="https://github.com/SchildiChat/schildichat-desktop">'
        "https://github.com/SchildiChat/schildichat-desktop</a></p><p>Matrix room:"
        ' <a href="https://matrix.to/#/#schildichat-web:matrix.org">#schildichat-web:matrix.org'
        "</a></p>",
        HTML,
    )
    nheko_text = quoted(
        reference,
        "> We just landed basic support for edits.",
        "> Now please stop asking for edits!",
    )
    nheko = await message_markdown(nheko_text, paragraphs(*nheko_text.split("\n\n")), HTML)
    cos = await message_markdown(
        "(plain fallback, not used)",
        "<h3>Cos discovers the /addwidget command in Element Web</h3><p>Public service"
        " announcement: Widgets are awesome. You can use <code>/addwidget &lt;url&gt;</code> in"
        " Element Web to add any web page in a iframe to the sidebar of Element Web. They get"
        ' default name "Custom Widget" but you can rename them from /devtools menu. Very useful'
        " for group calendars, status pages and other info related to Matrix rooms.</p>",
        HTML,
    )
    element = quoted(
        reference,
        "> **Delight**",
        "> * 1.0.17 released",
    )
    nheko_project = Project(
        "nheko",
        "Nheko",
        "[Nheko](https://github.com/Nheko-Reborn/nheko) is a desktop client using Qt,"
        " Boost.Asio and C++17. It supports E2EE (with the notable exception being device"
        " verification for now) and intends to be full featured and nice to look at",
    )
    week = Post(
        date=date(2021, 2, 12),
        editor="Ben Parsons",
        sections=[CLIENTS],
        projects=[nheko_project, Project("element", "Element")],
        entries=[
            entry(
                schildichat,
                event_id="$schildi2",
                sender="@qg:supercable.onl",
                name="qg",
                at=100,
                section="clients",
                attachments=[image("$5B1P9abc", "Bildschirmfoto 2021-02-12 um 10.48.41.png")],
            ),
            entry(
                nheko,
                event_id="$nheko4",
                sender="@deepbluev7:neko.dev",
                name="Nico (@deepbluev7:neko.dev)",
                at=200,
                section="clients",
                project="nheko",
            ),
            entry(
                cos,
                event_id="$cos2",
                sender="@cos:hacklab.fi",
                name="Cos",
                at=300,
                section="clients",
            ),
            entry(
                element,
                event_id="$element1",
                sender="@neilj:matrix.org",
                name="Neil",
                at=400,
                section="clients",
                project="element",
            ),
        ],
    )

    rendered = lines_from(render_post(week), "## Dept of Clients 📱")
    assert rendered[: rendered.index("## That's all I know 🏁") - 1] == expected(reference)


def test_interesting_projects_ping_and_sign_off_of_2021_03_05() -> None:
    reference = "2021-03-05-tail.md"
    reports: list[Entry] = [
        entry(
            "# Cactus Comments\n\n"
            + quoted(
                reference,
                "> I am very excited to launch Cactus Comments",
                "> Source code:",
            ),
            event_id="$cactus4",
            sender="@carl:bordum.dk",
            name="carl",
            at=100,
            section="projects",
            notes=["What a project! Let's see how we can integrate this with the Matrix.org blog!"],
        ),
        entry(
            quoted(
                reference,
                "> With things on the Internet vanishing",
                "> See this example of use",
            ),
            heading="Matrix Queue Processor",
            event_id="$queue0",
            sender="@reivilibre:librepush.net",
            name="reivilibre",
            at=200,
            section="projects",
            attachments=[image("$6K_RGxyz", "Screenshot_20210301_074617.png")],
            notes=["I like this a lot - there are so many uses for this project."],
        ),
        entry(
            quoted(reference, "> Hummingbard updates:", "> <https://github.com/hummingbard"),
            project="hummingbard",
            event_id="$hummingbard2",
            sender="@ahq:matrix.org",
            name="ahq",
            at=300,
            section="projects",
            notes=[
                "Have you checkout out hummingbard yet? This is a *very* promising-looking"
                " project, I recommend [reading this introduction]"
                "(https://hummingbard.com/hummingbard/introducing-hummingbard) to get started."
            ],
        ),
    ]
    medians = [
        ("envs.net", 387),
        ("maescool.be", 464),
        ("neko.dev", 494),
        ("voolik.pw", 572.5),
        ("fosil.eu", 577),
        ("thomcat.rocks", 623),
        ("kif.rocks", 702),
        ("dodsorf.as", 722.5),
        ("aria-net.org", 743),
        ("matrix.sp-codes.de", 753),
    ]
    week = Post(
        date=date(2021, 3, 5),
        editor="Ben Parsons",
        sections=[PROJECTS],
        projects=[Project("hummingbard", "Hummingbard")],
        entries=reports,
        ping_table=ping_table(medians),
        ping_room_alias="#ping:maunium.net",
    )

    rendered = lines_from(render_post(week), "## Dept of Interesting Projects 🛰️")
    tail = expected(reference)
    ping = tail.index("## Dept of Ping 🏓")
    table = tail.index("|Rank|Hostname|Median MS|")
    assert rendered[:ping] == tail[:ping]
    # The Dept of Ping is introduced in one paragraph, as in the posts of 2021-01-29,
    # 02-12 and 02-26; 03-05 gave the room a heading of its own.
    intro = expected("2021-02-26-ping.md")
    assert rendered[ping : ping + len(intro) + 1] == [*intro, ""]
    assert rendered[ping + len(intro) + 1 :] == tail[table:]
