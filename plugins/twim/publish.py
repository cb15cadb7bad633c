"""Writing the post and its images into the output folder, and the preview upload.

All images are fetched first. An image the homeserver does not have (or whose
address is not a valid ``mxc://`` URI) is left out of the post and named in the
answer; any other failure to fetch one fails the publish before anything is written.
Then every file is written to a temporary name and only when all were written are
they renamed into place, images first: a post on disk always has its images, and a
failed publish leaves no half-written or orphan file for the blog to pick up.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import ClientError, ClientResponseError
from mautrix.errors import MatrixError, MatrixRequestError
from mautrix.types import ContentURI, FileInfo, MediaMessageEventContent, MessageType, RoomID

from botkit.client import PluginClient
from botkit.markdown import in_worker

from .draft import Draft, issues_markdown
from .model import Post
from .render import attachment_files, post_file_name, render_post, saved_name
from .templating import TemplateError

__all__ = ["IMAGE_FOLDER", "PublishError", "Written", "is_missing", "send_preview", "write_post"]

IMAGE_FOLDER = "img"
"""Where the images go inside the output folder; the post links them as /blog/img/."""

Download = Callable[[ContentURI], Awaitable[bytes]]


class PublishError(RuntimeError):
    """The post could not be written; the message says which file and why."""


@dataclass(frozen=True)
class Written:
    """What a publish wrote: the post's path and its images' paths.

    ``left_out`` says, for each image the post had to leave out, which and why.
    """

    post: Path
    images: tuple[Path, ...]
    left_out: tuple[str, ...] = ()


def is_missing(error: Exception) -> bool:
    """Whether a download failed because the file is not there (or cannot be named).

    mautrix raises ValueError for an address that is not ``mxc://server/id``.
    """
    if isinstance(error, ValueError):
        return True
    if isinstance(error, MatrixRequestError):
        return getattr(error, "http_status", None) in (400, 404)
    return isinstance(error, ClientResponseError) and error.status in (400, 404)


async def write_post(post: Post, output_dir: Path, download: Download) -> Written:
    """Write ``post`` as ``<output_dir>/<post file name>`` with its images in ``img/``.

    A template that fails is a :class:`PublishError` naming its file and line, before
    anything is downloaded or written; the week's entries stay as they were.
    """
    try:
        # Rendering sanitizes each report not seen before: in a render thread, not the loop.
        markdown = await in_worker(render_post, post)
        post_name = post_file_name(post)
    except (TemplateError, ValueError) as e:
        raise PublishError(str(e)) from e
    folder = output_dir / IMAGE_FOLDER
    try:
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    except OSError as e:
        raise PublishError(f"cannot create {folder}: {e.strerror}") from e
    files: dict[Path, bytes] = {}
    left_out: dict[str, str] = {}
    for name, url in attachment_files(post).items():
        # render.saved_name keeps names to one safe path component; checked again
        # because a file outside the folder would be much worse than a failed publish.
        if Path(name).name != name or name.startswith("."):
            raise PublishError(f"refusing to write the image name {name!r}")
        try:
            files[folder / name] = await download(url)
        except (MatrixError, ClientError, TimeoutError, ValueError) as e:
            if not is_missing(e):
                raise PublishError(f"could not download {url} for {name}: {e}") from e
            left_out[name] = f"{name} ({url}): {e}"
    if left_out:
        post = _without(post, set(left_out))
        markdown = await in_worker(render_post, post)
    path = output_dir / post_name
    files[path] = markdown.encode()
    try:
        await asyncio.to_thread(_write_all, files)
    except OSError as e:
        raise PublishError(f"cannot write {e.filename or output_dir}: {e.strerror or e}") from e
    return Written(path, tuple(p for p in files if p != path), tuple(left_out.values()))


def _without(post: Post, names: set[str]) -> Post:
    """``post`` without the attachments saved under ``names``."""

    entries = [
        replace(e, attachments=[a for a in e.attachments if saved_name(post, a) not in names])
        for e in post.entries
    ]
    # An entry that was only the image has nothing left to show.
    return replace(post, entries=[e for e in entries if e.text.strip() or e.attachments])


def _write_all(files: dict[Path, bytes]) -> None:
    """Write every file under a temporary name, then rename them all into place.

    On failure the temporary files go, and so do the files this call already put in
    place where there was none before (a publish run again finds them as it left them).
    """
    temporary: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for path, data in files.items():
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=".twim-", suffix=".tmp")
            temporary[path] = Path(name)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            # mkstemp makes the file private; the blog's build must read it.
            os.chmod(name, 0o644)
        for path, tmp in temporary.items():
            existed = path.exists()
            os.replace(tmp, path)
            if not existed:
                placed.append(path)
    except BaseException:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)
        for path in placed:
            path.unlink(missing_ok=True)
        raise


async def send_preview(client: PluginClient, room_id: RoomID, draft: Draft) -> None:
    """Upload the draft's file to ``room_id`` with its warnings; or say why it cannot be
    rendered (the template's file and line), the week's entries left as they are."""
    try:
        data = (await in_worker(render_post, draft.post)).encode()
    except (TemplateError, ValueError) as e:
        await client.send_text(room_id, f"The post cannot be rendered: {e}")
        return
    name = post_file_name(draft.post)
    url = await client.upload(data, "text/markdown", name, room_id=room_id)
    content = MediaMessageEventContent(
        msgtype=MessageType.FILE,
        body=name,
        url=url,
        filename=name,
        info=FileInfo(mimetype="text/markdown", size=len(data)),
    )
    await client.send(room_id, content)
    await client.send_markdown(room_id, issues_markdown(draft.issues))
