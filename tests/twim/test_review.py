"""Edits after an approval, the diff the editors get, and how an editor names a report."""

from __future__ import annotations

import pytest

from plugins.twim.review import edit_diff, edited, report_id, split_edits
from plugins.twim.rows import valid_mxc
from tests.twim.stored import ALICE, EDITOR, Room


async def test_the_diff_shows_the_approved_and_the_edited_text_and_a_new_file() -> None:
    room = Room()
    report = room.say(ALICE, "line one\nline two\nline three")
    room.edit(ALICE, report, "line one\nline 2\nline three")
    original, edit = room.messages

    assert await edit_diff(original, edited(original, edit)) == (
        "--- approved\n+++ edited\n@@ -1,3 +1,3 @@\n line one\n-line two\n+line 2\n line three"
    )
    room.image(ALICE, "a.png")
    room.image(ALICE, "b.png")
    swapped = edited(room.messages[2], room.messages[3])
    assert (await edit_diff(room.messages[2], swapped)).splitlines()[-2:] == [
        f"file: a.png ({room.messages[2].media_url})",
        f"   → b.png ({room.messages[3].media_url})",
    ]


def test_edits_after_the_approval_wait_unless_an_editor_made_them() -> None:
    room = Room()
    report = room.say(ALICE, "v1")
    room.edit(ALICE, report, "v2")
    room.edit(ALICE, report, "v3")
    room.edit(EDITOR, report, "v4")
    original, *edits = room.messages
    approved = edits[0].seq

    kept, pending = split_edits(original, edits, approved, frozenset({EDITOR}))
    assert (kept.body, pending and pending.body) == ("v4", "v3")
    kept, pending = split_edits(original, edits, None, frozenset({EDITOR}))
    assert (kept.body, pending) == ("v4", None)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("$abc:example.org", "$abc:example.org"),
        ("https://matrix.to/#/%21room%3Aexample.org/%24abc?via=example.org", "$abc"),
        ("<https://matrix.to/#/!room:example.org/$abc>", "$abc"),
        ("https://matrix.to/#/!room:example.org", None),
        ("abc", None),
        ("$", None),
    ],
)
def test_a_report_is_named_by_its_event_id_or_a_link(given: str, expected: str | None) -> None:
    assert report_id(given) == expected


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("mxc://example.org/abcDEF_-123", True),
        ("mxc://example.org:8448/abc", True),
        ("mxc://[::1]:8448/abc", True),
        ("mxc://a/b/c", False),
        ("mxc://example.org/", False),
        ("mxc:///abc", False),
        ("https://example.org/abc", False),
        ("mxc://example.org/abc?x=1", False),
    ],
)
def test_only_spec_mxc_uris_are_valid(url: str, valid: bool) -> None:
    assert valid_mxc(url) is valid
