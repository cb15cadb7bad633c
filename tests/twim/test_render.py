"""The rules of a "This Week in Matrix" post, one by one, on hand-built entries."""

from __future__ import annotations

import re
from datetime import date

import pytest

from plugins.twim.model import Project, Section
from plugins.twim.render import (
    RETURNED,
    VERBS,
    attachment_files,
    credit_verb,
    image_name,
    ping_table,
    post_filename,
    render_post,
)
from tests.twim.builders import blocks, entry, image, post

ALICE = "[Alice](https://matrix.to/#/@alice:example.org)"
BOB = "[Bob](https://matrix.to/#/@bob:example.org)"


def credit(who: str, event_id: str) -> str:
    return f"{who} {credit_verb(event_id)}:"


def section_blocks(markdown: str, title: str) -> list[str]:
    """The blocks of the section headed ``## <title>``, up to the next ``##``."""
    found = blocks(markdown)
    start = found.index(f"## {title}")
    end = next((i for i in range(start + 1, len(found)) if found[i].startswith("## ")), len(found))
    return found[start:end]


def test_front_matter_names_the_week_the_editor_and_the_header_image() -> None:
    rendered = render_post(post(header_image="https://matrix.org/blog/img/{date}-ml.png"))

    assert rendered.split("\n")[:12] == [
        "+++",
        'title = "This Week in Matrix 2021-01-29"',
        'path = "/blog/2021/01/29/this-week-in-matrix-2021-01-29"',
        "",
        "[taxonomies]",
        'author = ["Ben Parsons"]',
        'category = ["This Week in Matrix"]',
        "",
        "[extra]",
        'image = "https://matrix.org/blog/img/2021-01-29-ml.png"',
        "+++",
        "",
    ]


def test_front_matter_without_header_image_has_no_extra_table() -> None:
    rendered = render_post(post())

    front = rendered.split("+++")[1]
    assert "[extra]" not in front
    assert "date =" not in front


def test_front_matter_escapes_the_editor_name_for_toml() -> None:
    week = post()
    week.editor = 'Ben "BP" Parsons\\'

    assert 'author = ["Ben \\"BP\\" Parsons\\\\"]' in render_post(week)


def test_post_filename() -> None:
    assert post_filename(date(2021, 3, 5)) == "2021-03-05-this-week-in-matrix-2021-03-05.md"


def test_matrix_live_shows_the_video_and_its_description() -> None:
    rendered = render_post(post(live_video="2F_Oiz48sfM", live_description="Demos galore."))

    assert section_blocks(rendered, "Matrix Live 🎙") == [
        "## Matrix Live 🎙",
        '{{ youtube_player(video_id="2F_Oiz48sfM") }}',
        "Demos galore.",
    ]


def test_no_video_no_matrix_live() -> None:
    assert "Matrix Live" not in render_post(post(live_description="Nothing this week."))


def test_a_video_id_that_would_break_the_shortcode_is_refused() -> None:
    with pytest.raises(ValueError, match="YouTube"):
        render_post(post(live_video='x") }}<script>'))


def test_sections_follow_their_order_and_empty_ones_are_left_out() -> None:
    sections = (
        Section("late", "Dept of Late ⏰", "⏰", 90),
        Section("empty", "Dept of Nothing 🕳", "🕳", 50),
        Section("early", "Dept of Early 🌅", "🌅", 10),
    )
    rendered = render_post(
        post(
            [
                entry("late news", event_id="$1", section="late", at=1),
                entry("early news", event_id="$2", section="early", at=2),
            ],
            sections=sections,
        )
    )

    headings = re.findall(r"^## (.*)$", rendered, re.MULTILINE)
    assert headings == ["Dept of Early 🌅", "Dept of Late ⏰", "That's all I know 🏁"]


def test_entries_keep_posted_order_and_gather_under_their_project() -> None:
    projects = [Project("synapse", "Synapse")]
    entries = [
        entry("second on synapse", event_id="$c", at=30, project="synapse"),
        entry("# Kubernetes\nchart bumped", event_id="$b", at=20, sender="@bob:example.org"),
        entry("first on synapse", event_id="$a", at=10, project="synapse"),
        entry("loose remark", event_id="$d", at=40, sender="@carol:example.org"),
    ]

    rendered = render_post(post(entries, projects=projects))

    quotes = [b for b in section_blocks(rendered, "Dept of Servers 🏢") if b.startswith(("#", ">"))]
    assert quotes == [
        "## Dept of Servers 🏢",
        "> loose remark",
        "### Synapse",
        "> first on synapse",
        "> second on synapse",
        "### Kubernetes",
        "> chart bumped",
    ]


def test_project_description_is_printed_once_under_its_first_heading() -> None:
    projects = [
        Project("element", "Element", "Element is a client."),
        Project("conduit", "Conduit"),
    ]
    entries = [
        entry("web news", event_id="$1", at=1, section="clients", project="element"),
        entry("server news", event_id="$2", at=2, project="element"),
        entry(
            "rust news",
            event_id="$3",
            at=3,
            project="conduit",
            sender="@bob:example.org",
            name="Bob",
        ),
    ]

    rendered = render_post(post(entries, projects=projects))

    # Servers come before Clients in the post, so that is where Element is introduced.
    assert section_blocks(rendered, "Dept of Servers 🏢") == [
        "## Dept of Servers 🏢",
        "### Element",
        "Element is a client.",
        credit(ALICE, "$2"),
        "> server news",
        "### Conduit",
        credit(BOB, "$3"),
        "> rust news",
    ]
    assert section_blocks(rendered, "Dept of Clients 📱") == [
        "## Dept of Clients 📱",
        "### Element",
        credit(ALICE, "$1"),
        "> web news",
    ]


def test_first_line_heading_becomes_the_entry_heading_and_leaves_the_quote() -> None:
    rendered = render_post(post([entry("## Release 1.0 ##\n\nIt is out.", event_id="$1")]))

    assert section_blocks(rendered, "Dept of Servers 🏢") == [
        "## Dept of Servers 🏢",
        "### Release 1.0",
        credit(ALICE, "$1"),
        "> It is out.",
    ]


def test_a_project_report_s_own_heading_stands_for_the_project_s() -> None:
    projects = [Project("conduit", "Conduit", "Conduit is a server.")]
    entries = [
        entry("### Conduit 0.5\nIt is out.", event_id="$1", at=1, project="conduit"),
        entry("#### Conduit 0.6\n\nSoon.", event_id="$2", at=2, project="conduit"),
    ]

    rendered = render_post(post(entries, projects=projects))

    # One credit line under each heading, and the description once, under the first.
    assert section_blocks(rendered, "Dept of Servers 🏢")[1:] == [
        "### Conduit 0.5",
        "Conduit is a server.",
        credit(ALICE, "$1"),
        "> It is out.",
        "### Conduit 0.6",
        f"{ALICE} {RETURNED}:",
        "> Soon.",
    ]


def test_a_set_heading_wins_over_the_text() -> None:
    rendered = render_post(post([entry("# Not this\nbody", event_id="$1", heading="This")]))

    assert section_blocks(rendered, "Dept of Servers 🏢")[1:] == [
        "### This",
        credit(ALICE, "$1"),
        "> # Not this\n> body",
    ]


def test_credit_verb_comes_from_the_event_id_and_never_changes() -> None:
    verbs = {credit_verb(f"$event{n}") for n in range(50)}
    assert verbs == set(VERBS)
    assert credit_verb("$event7") == credit_verb("$event7")

    first = [
        entry("a", event_id="$x1", at=1),
        entry("b", event_id="$x2", at=2, sender="@bob:example.org", name="Bob"),
    ]
    moved = [
        entry("a", event_id="$x1", at=3),
        entry("b", event_id="$x2", at=2, sender="@bob:example.org", name="Bob"),
    ]
    once, again = render_post(post(first)), render_post(post(first))
    assert once == again
    assert f"{credit(ALICE, '$x1')}\n\n> a" in render_post(post(moved))
    assert f"{credit(BOB, '$x2')}\n\n> b" in render_post(post(moved))


def test_a_sender_credited_right_after_their_own_entry_returned_to_say() -> None:
    entries = [
        entry("# One\nfirst", event_id="$1", at=1),
        entry("# Two\nsecond", event_id="$2", at=2),
        entry("# Three\nbob's", event_id="$3", at=3, sender="@bob:example.org", name="Bob"),
        entry("# Four\nthird", event_id="$4", at=4),
        entry("elsewhere", event_id="$5", at=5, section="clients"),
    ]

    rendered = render_post(post(entries))

    servers = section_blocks(rendered, "Dept of Servers 🏢")
    assert servers[2] == credit(ALICE, "$1")
    assert servers[5] == f"{ALICE} {RETURNED}:"
    assert servers[8] == credit(BOB, "$3")
    assert servers[11] == credit(ALICE, "$4")
    assert section_blocks(rendered, "Dept of Clients 📱")[1] == credit(ALICE, "$5")


def test_consecutive_items_from_one_sender_share_a_credit_line() -> None:
    entries = [
        entry(
            "# Conduit\nfixes",
            event_id="$c078w1",
            at=1,
            attachments=[image("$c078wX", "image.png")],
        ),
        entry("# Conduit\nthanks to sponsors", event_id="$t2", at=2),
    ]

    rendered = render_post(post(entries))

    assert section_blocks(rendered, "Dept of Servers 🏢") == [
        "## Dept of Servers 🏢",
        "### Conduit",
        credit(ALICE, "$c078w1"),
        "> fixes",
        "![2021-01-29-c078w-image.png](/blog/img/2021-01-29-c078w-image.png)",
        "> thanks to sponsors",
    ]


def test_an_editor_note_between_items_gives_the_next_its_own_credit() -> None:
    entries = [
        entry("releases", event_id="$1", at=1, notes=["Then, later..."]),
        entry("cooking", event_id="$2", at=2),
    ]

    rendered = render_post(post(entries))

    assert section_blocks(rendered, "Dept of Servers 🏢")[1:] == [
        credit(ALICE, "$1"),
        "> releases",
        "Then, later...",
        f"{ALICE} {RETURNED}:",
        "> cooking",
    ]


def test_an_image_only_entry_is_credited_and_shown() -> None:
    rendered = render_post(
        post([entry("", event_id="$cPftU1", attachments=[image("$cPftU1", "img 1.jpg")])])
    )

    assert section_blocks(rendered, "Dept of Servers 🏢")[1:] == [
        credit(ALICE, "$cPftU1"),
        "![2021-01-29-cPftU-img1.jpg](/blog/img/2021-01-29-cPftU-img1.jpg)",
    ]


def test_editor_notes_follow_their_entry_unquoted_and_uncredited() -> None:
    entries = [
        entry(
            "We released.",
            event_id="$1",
            at=1,
            attachments=[image("$KtwNn", "shot.png")],
            notes=["Success: the message did *great*!", "Second note."],
        ),
        entry("Me too.", event_id="$2", at=2, sender="@bob:example.org", name="Bob"),
    ]

    rendered = render_post(post(entries))

    assert section_blocks(rendered, "Dept of Servers 🏢")[1:] == [
        credit(ALICE, "$1"),
        "> We released.",
        "![2021-01-29-KtwNn-shot.png](/blog/img/2021-01-29-KtwNn-shot.png)",
        "Success: the message did *great*!",
        "Second note.",
        credit(BOB, "$2"),
        "> Me too.",
    ]


@pytest.mark.parametrize(
    ("event_id", "filename", "expected"),
    [
        ("$YevH-abcdef", "image.png", "2021-01-29-YevH--image.png"),
        (
            "$KtwNnXYZ",
            "Screenshot from 2021-01-26 21-15-53.png",
            "2021-01-29-KtwNn-Screenshotfrom2021-01-2621-15-53.png",
        ),
        ("$M_N-6q", "clipboard.png", "2021-01-29-M_N-6-clipboard.png"),
    ],
)
def test_image_names_as_in_the_posts(event_id: str, filename: str, expected: str) -> None:
    assert image_name(date(2021, 1, 29), event_id, filename) == expected


@pytest.mark.parametrize(
    "filename",
    [
        "../../../etc/passwd",
        "..\\..\\boot.ini",
        "a/../../b.png",
        "....png",
        "<img src=x>.png",
        "x\x00.png",
        "Ünïcødé ≈ 📷.jpeg",
        "",
        "/",
        "a" * 500 + ".png",
    ],
)
def test_image_names_cannot_leave_the_image_folder(filename: str) -> None:
    name = image_name(date(2021, 1, 29), "$ab/..cdef", filename)

    assert re.fullmatch(r"2021-01-29-[A-Za-z0-9._-]+", name)
    assert ".." not in name
    assert len(name) <= 160


def test_long_image_names_keep_their_extension() -> None:
    assert image_name(date(2021, 1, 29), "$abcde", "a" * 500 + ".png").endswith("aaa.png")


def test_videos_are_linked_and_every_attachment_is_listed_for_saving() -> None:
    week = post(
        [
            entry("clip", event_id="$1", attachments=[image("$vid01", "demo.mp4", "video")]),
            entry("nowhere", event_id="$2", section=None, attachments=[image("$img02", "x.png")]),
        ]
    )

    rendered = render_post(week)

    assert "\n\n[2021-01-29-vid01-demo.mp4](/blog/img/2021-01-29-vid01-demo.mp4)\n\n" in rendered
    assert "img02" not in rendered
    assert attachment_files(week) == {"2021-01-29-vid01-demo.mp4": "mxc://example.org/vid01"}
    assert week.unplaced == [week.entries[1]]


def test_ping_table_prints_whole_medians_without_decimals() -> None:
    table = ping_table([("envs.net", 437.0), ("maunium.net", 480), ("blackline.xyz", 975.5)])

    assert table.split("\n") == [
        "|Rank|Hostname|Median MS|",
        "|:---:|:---:|:---:|",
        "|1|envs.net|437|",
        "|2|maunium.net|480|",
        "|3|blackline.xyz|975.5|",
    ]


def test_ping_table_escapes_what_a_server_claims_as_its_name() -> None:
    row = ping_table([("<script>|x", 1.0)]).split("\n")[2]

    assert row == "|1|\\<script>\\|x|1|"
    assert len(re.findall(r"(?<!\\)\|", row)) == 4


def test_dept_of_ping_introduces_the_room_and_its_table() -> None:
    table = ping_table([("envs.net", 387)])
    rendered = render_post(post(ping_table=table, ping_room_alias="#ping:maunium.net"))

    assert section_blocks(rendered, "Dept of Ping 🏓") == [
        "## Dept of Ping 🏓",
        "Here we reveal, rank, and applaud the homeservers with the lowest ping, as measured by "
        "[pingbot](https://github.com/maubot/echo), a [maubot](https://github.com/maubot/maubot) "
        "that you can host on your own server. "
        "Join [#ping:maunium.net](https://matrix.to/#/#ping:maunium.net) to experience the fun "
        "live, and to find out how to add YOUR server to the game.",
        table,
    ]


def test_dept_of_ping_without_a_room_shows_intro_and_table() -> None:
    table = ping_table([("envs.net", 387)])
    ping = section_blocks(render_post(post(ping_table=table)), "Dept of Ping 🏓")

    assert len(ping) == 3
    assert ping[2] == table


def test_no_ping_data_no_dept_of_ping() -> None:
    assert "Dept of Ping" not in render_post(post(ping_room_alias="#ping:maunium.net"))


def test_the_post_ends_with_the_sign_off_and_its_link_reference() -> None:
    rendered = render_post(post(closing="It's FOSDEM next weekend!"))

    assert rendered.endswith(
        "\n\n## That's all I know 🏁\n\n"
        "It's FOSDEM next weekend!\n\n"
        "See you next week, and be sure to stop by [#twim:matrix.org] with your updates!\n\n"
        "[#TWIM:matrix.org]: https://matrix.to/#/#TWIM:matrix.org\n"
    )


def test_the_sign_off_names_the_configured_room() -> None:
    rendered = render_post(post(twim_room_alias="#news:example.org"))

    assert rendered.endswith(
        "by [#news:example.org] with your updates!\n\n"
        "[#news:example.org]: https://matrix.to/#/#news:example.org\n"
    )


def test_the_current_format_takes_a_report_s_own_heading_out_of_the_quote() -> None:
    projects = [Project("conduit", "Conduit", "Conduit is a server.")]
    entries = [
        entry("### Conduit 0.5\nIt is out.", event_id="$1", at=1, project="conduit"),
        entry("### Conduit 0.6\nSoon.", event_id="$2", at=2, project="conduit"),
    ]

    found = blocks(render_post(post(entries, projects=projects, template="current")))

    start = found.index("## Dept of Servers 🏢")
    assert found[start + 1 : start + 3] == ["### Conduit", "Conduit is a server."]
    assert found.count("Conduit is a server.") == 1
    assert found[start + 3] == "### Conduit 0.5"
    assert found[start + 4].startswith(ALICE + " ")  # a credit line of its own
    assert found[start + 5 : start + 7] == ["> It is out.", "### Conduit 0.6"]
    assert " also " not in found[start + 7]  # under its heading, a credit line of its own
    assert found[start + 8] == "> Soon."
