"""The id of a YouTube video, from the URLs editors paste for Matrix Live."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

__all__ = ["youtube_id"]

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtube-nocookie.com"}


def youtube_id(text: str) -> str | None:
    """The video id in a YouTube URL (watch, youtu.be, live, embed, shorts) or a bare id."""
    text = text.strip().strip("<>")
    if _VIDEO_ID.fullmatch(text):
        return text
    url = urlsplit(text if "//" in text else f"https://{text}")
    host = (url.hostname or "").lower()
    candidate = ""
    if host == "youtu.be":
        candidate = url.path.strip("/")
    elif host in _YOUTUBE_HOSTS:
        if url.path == "/watch":
            candidate = (parse_qs(url.query).get("v") or [""])[0]
        else:
            parts = url.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] in ("live", "embed", "shorts", "v"):
                candidate = parts[1]
    return candidate if _VIDEO_ID.fullmatch(candidate) else None
