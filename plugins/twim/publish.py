"""Writing the post and its images into the output folder.

The images are fetched first and the post last, each file written to a temporary name
and renamed into place: a post on disk always has its images, and a failed publish
leaves no half-written file for the blog to pick up.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import ClientError
from mautrix.errors import MatrixError
from mautrix.types import ContentURI

from .model import Post
from .render import attachment_files, post_filename, render_post

__all__ = ["IMAGE_FOLDER", "PublishError", "Written", "write_post"]

IMAGE_FOLDER = "img"
"""Where the images go inside the output folder; the post links them as /blog/img/."""

Download = Callable[[ContentURI], Awaitable[bytes]]


class PublishError(RuntimeError):
    """The post could not be written; the message says which file and why."""


@dataclass(frozen=True)
class Written:
    """What a publish wrote: the post's path and its images' paths."""

    post: Path
    images: tuple[Path, ...]


async def write_post(post: Post, output_dir: Path, download: Download) -> Written:
    """Write ``post`` as ``<output_dir>/<post file name>`` with its images in ``img/``."""
    folder = output_dir / IMAGE_FOLDER
    try:
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    except OSError as e:
        raise PublishError(f"cannot create {folder}: {e.strerror}") from e
    images = []
    for name, url in attachment_files(post).items():
        # render.image_name keeps names to one safe path component; checked again
        # because a file outside the folder would be much worse than a failed publish.
        if Path(name).name != name or name.startswith("."):
            raise PublishError(f"refusing to write the image name {name!r}")
        try:
            data = await download(url)
        except (MatrixError, ClientError, TimeoutError) as e:
            raise PublishError(f"could not download {url} for {name}: {e}") from e
        images.append(await _write(folder / name, data))
    path = await _write(output_dir / post_filename(post.date), render_post(post).encode())
    return Written(path, tuple(images))


async def _write(path: Path, data: bytes) -> Path:
    def write() -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".twim-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            # mkstemp makes the file private; the blog's build must read it.
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    try:
        await asyncio.to_thread(write)
    except OSError as e:
        raise PublishError(f"cannot write {path}: {e.strerror or e}") from e
    return path
