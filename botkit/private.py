"""Files that hold secrets: the database (with the access token) and the log.

They are created readable by the bot's user only (0600), an existing one that
others may read is made so, and a directory that anyone may write to (where
another user could swap the file) is warned about. :func:`exposure` is what
``botkit check`` reports.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["exposure", "protect", "sqlite_files"]

log = logging.getLogger("botkit.files")
_PRIVATE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def sqlite_files(url: str) -> list[Path]:
    """The files of a SQLite database URL (the database, its ``-wal`` and ``-shm``), or []."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return []
    if database.startswith("file:"):
        return []  # a URI filename: its options are SQLite's business
    path = Path(database).expanduser()
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def protect(files: list[Path]) -> None:
    """Make ``files[0]`` exist with mode 0600 and take group and other access from all.

    SQLite creates ``-wal`` and ``-shm`` with the mode of the database file, so
    a database created here keeps its journal private too.
    """
    if not files:
        return
    main = files[0]
    _warn_about_directory(main.parent)
    if not main.exists():
        try:
            main.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(main, os.O_WRONLY | os.O_CREAT, _PRIVATE))
        except OSError:
            return  # opening it will fail as well, and say why where it is opened
    for path in files:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & _OTHERS:
            try:
                path.chmod(stat.S_IMODE(mode) & ~_OTHERS)
            except OSError as e:
                log.warning("%s can be read by other users and cannot be made private: %s", path, e)
            else:
                log.warning("%s could be read by other users; it is now 0600", path)


def exposure(path: Path) -> str | None:
    """Why ``path`` is not private (readable by others, or in a world-writable directory)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        who = "everyone" if mode & stat.S_IROTH else "its group"
        return f"{path} can be read by {who} (mode {stat.S_IMODE(mode):04o}); chmod 600 it"
    return _directory_problem(path.parent)


def _directory_problem(directory: Path) -> str | None:
    try:
        mode = directory.stat().st_mode
    except OSError:
        return None
    # A sticky world-writable directory (/tmp) still lets others create files next to ours,
    # but not replace ours; anything else lets them swap the file under the bot.
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        return f"{directory} can be written by everyone: another user could replace its files"
    return None


def _warn_about_directory(directory: Path) -> None:
    problem = _directory_problem(directory)
    if problem:
        log.warning("%s", problem)
