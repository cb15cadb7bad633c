"""Writing the post and its images into the output folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from mautrix.errors import MatrixUnknownRequestError, MNotFound
from mautrix.types import ContentURI

from plugins.twim.publish import PublishError, write_post
from plugins.twim.render import render_post
from tests.twim.builders import entry, image, post

WEEK = post(
    [
        entry(
            "Shiny new release",
            event_id="$abcdefg",
            attachments=[image("$abcdefg", "my shot.png"), image("$hijklmn", "demo.mp4", "video")],
        ),
        entry(
            "not in a section",
            event_id="$zzzzzzz",
            section=None,
            attachments=[image("$zzzzzzz", "left out.png")],
        ),
    ]
)


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


async def test_the_post_and_its_images_are_written_under_their_names(tmp_path: Path) -> None:
    fetched: list[str] = []

    async def download(url: ContentURI) -> bytes:
        fetched.append(url)
        return f"bytes of {url}".encode()

    written = await write_post(WEEK, tmp_path / "out", download)

    assert written.post == tmp_path / "out" / "2021-01-29-this-week-in-matrix-2021-01-29.md"
    assert written.post.read_text(encoding="utf-8") == render_post(WEEK)
    images = listing(tmp_path / "out" / "img")
    assert images == ["2021-01-29-abcde-myshot.png", "2021-01-29-hijkl-demo.mp4"]
    assert (tmp_path / "out" / "img" / images[0]).read_bytes() == (
        b"bytes of mxc://example.org/abcdefg"
    )
    assert fetched == ["mxc://example.org/abcdefg", "mxc://example.org/hijklmn"]
    assert written.post.stat().st_mode & 0o777 == 0o644


async def test_a_failed_download_writes_no_post(tmp_path: Path) -> None:
    async def download(url: ContentURI) -> bytes:
        raise MatrixUnknownRequestError(502, "Bad gateway")

    with pytest.raises(PublishError, match=re.escape("could not download mxc://example.org/abc")):
        await write_post(WEEK, tmp_path, download)

    assert listing(tmp_path) == ["img"]
    assert listing(tmp_path / "img") == []


async def test_a_missing_image_is_left_out_of_the_post(tmp_path: Path) -> None:
    async def download(url: ContentURI) -> bytes:
        if url.endswith("hijklmn"):
            raise MNotFound(404, "Not found")
        return b"png"

    written = await write_post(WEEK, tmp_path, download)

    assert listing(tmp_path / "img") == ["2021-01-29-abcde-myshot.png"]
    assert written.left_out == ("2021-01-29-hijkl-demo.mp4 (mxc://example.org/hijklmn): Not found",)
    assert "demo.mp4" not in written.post.read_text(encoding="utf-8")


async def test_a_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    async def download(url: ContentURI) -> bytes:
        return b"png"

    # The post's name is taken by a folder: its rename fails after the images were
    # written under temporary names.
    (tmp_path / "2021-01-29-this-week-in-matrix-2021-01-29.md").mkdir()
    with pytest.raises(PublishError, match="cannot write"):
        await write_post(WEEK, tmp_path, download)

    assert listing(tmp_path) == ["2021-01-29-this-week-in-matrix-2021-01-29.md", "img"]
    assert listing(tmp_path / "img") == []
