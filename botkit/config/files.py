"""Reading and writing YAML config files without losing the user's comments."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from botkit.errors import ConfigError, Problem

__all__ = [
    "SAMPLE_NAME",
    "dump_yaml",
    "indentation",
    "load_defaults",
    "parse_yaml",
    "read_yaml",
    "sample_text",
    "write_atomically",
    "write_sample",
]

SAMPLE_NAME = "config.sample.yaml"
"""The sample config's file name in the ``botkit`` package (and in problems about it)."""


class _Representer(RoundTripRepresenter):
    """Writes ``null`` where ruamel would leave a bare ``key:``, as the sample does."""


def _represent_none(representer: RoundTripRepresenter, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


# On a subclass, so that other users of ruamel in the process keep its default.
_Representer.add_representer(type(None), _represent_none)


def _round_trip() -> YAML:
    yaml = YAML()
    yaml.Representer = _Representer
    yaml.preserve_quotes = True
    # Long values (URLs, format strings) stay on one line, as the user wrote them.
    yaml.width = 4096
    return yaml


def parse_yaml(text: str, file: str, *, round_trip: bool = True) -> Any:
    """The document in ``text``; a syntax error names the line and column.

    Round-trip documents keep comments and layout, for writing the file back;
    plain ones are dicts and lists read by libyaml (``ruamel.yaml.clib``), which
    is several times faster: reading config files is most of botkit's start-up.
    """
    try:
        return (_round_trip() if round_trip else YAML(typ="safe")).load(text)
    except MarkedYAMLError as e:
        raise ConfigError([Problem(file, "", _syntax_reason(e))]) from e
    except YAMLError as e:
        raise ConfigError([Problem(file, "", f"invalid YAML: {e}")]) from e


def _syntax_reason(error: MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "syntax error"
    if mark is None:
        return f"invalid YAML: {what}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"


def read_yaml(path: Path, *, round_trip: bool = True) -> tuple[str, Any]:
    """The text of the file at ``path`` and its document (see :func:`parse_yaml`)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        reason = "file not found (`botkit init` writes a commented sample)"
        raise ConfigError([Problem(file, "", reason)]) from e
    except UnicodeDecodeError as e:
        raise ConfigError([Problem(file, "", f"not UTF-8 text: {e.reason}")]) from e
    except OSError as e:
        raise ConfigError([Problem(file, "", f"cannot be read: {e.strerror}")]) from e
    return text, parse_yaml(text, file, round_trip=round_trip)


def dump_yaml(document: Any, indentation: tuple[int, int, int] = (2, 4, 2)) -> str:
    """``document`` as YAML, indented as given (see :func:`indentation`)."""
    yaml = _round_trip()
    mapping, sequence, offset = indentation
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    out = StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def indentation(document: Any) -> tuple[int, int, int]:
    """Mapping indent, sequence indent and dash offset of a freshly parsed document.

    Read off its first nested blocks, so that a rewrite keeps the user's style.
    """
    mapping: int | None = None
    sequence: tuple[int, int] | None = None
    for parent, key, value in _nested_blocks(document):
        key_col = parent.lc.key(key)[1]
        if isinstance(value, CommentedMap) and mapping is None:
            mapping = value.lc.col - key_col
        elif isinstance(value, CommentedSeq) and sequence is None:
            indent = value.lc.item(0)[1] - key_col
            sequence = (indent, max(indent - 2, 0))
    mapping = mapping if mapping and mapping > 0 else 2
    sequence = sequence if sequence and sequence[0] >= 2 else (mapping + 2, mapping)
    return mapping, *sequence


def _nested_blocks(node: Any) -> Iterator[tuple[CommentedMap, str, Any]]:
    if not isinstance(node, CommentedMap):
        return
    for key, value in node.items():
        if isinstance(value, CommentedMap | CommentedSeq) and value and not value.fa.flow_style():
            yield node, key, value
        yield from _nested_blocks(value)


def write_atomically(path: Path, text: str) -> None:
    """Replace the file at ``path`` by ``text`` in one step, keeping its permissions."""
    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def sample_text() -> str:
    """The commented sample config shipped with botkit: every key at its default."""
    return resources.files("botkit").joinpath(SAMPLE_NAME).read_text(encoding="utf-8")


def write_sample(path: Path, text: str | None = None) -> None:
    """Write the sample config (or ``text``) to ``path``; an existing file is never
    overwritten.

    The file is readable by its owner only, since it is where the bot's
    access token usually ends up.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise ConfigError([Problem(str(path), "", "already exists; not overwriting it")]) from e
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(sample_text() if text is None else text)


def load_defaults(text: str, file: str) -> dict[str, Any]:
    """Parse a defaults document (the sample, or a plugin's ``config.yaml``) as plain data."""
    document = parse_yaml(text, file, round_trip=False)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError([Problem(file, "", "expected a mapping at the top level")])
    return document
