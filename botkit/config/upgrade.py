"""Adding the keys a user's config lacks, with the sample's comments, in place.

ruamel keeps comments on the round-trip document, but not where a reader sees
them: a comment written above a key is stored as the tail of whatever came
before it (the previous key's value, or the deepest last value of the previous
section). Inserting a key after another therefore moves that tail along, so
that each of the user's comments stays above the key it was written for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from botkit.config.schema import join_key, to_plain

__all__ = ["add_missing_keys", "lacks_keys"]


def lacks_keys(document: object, defaults: Mapping[str, Any]) -> bool:
    """Whether :func:`add_missing_keys` would add anything to ``document``."""
    if not isinstance(document, Mapping):
        return bool(defaults)
    for key, default in defaults.items():
        if key not in document:
            return True
        if isinstance(default, Mapping) and default:
            section = document[key]
            if section is None or (isinstance(section, Mapping) and lacks_keys(section, default)):
                return True
    return False


def add_missing_keys(
    document: CommentedMap, defaults: CommentedMap, defaults_text: str, *, indent: int = 2
) -> list[str]:
    """Insert every key of ``defaults`` that ``document`` lacks; return their dotted names.

    Each inserted key gets the comment the defaults have above it (read from
    ``defaults_text``, the text ``defaults`` was parsed from); ``indent`` is the
    document's mapping indentation, which the comments have to match.
    """
    filler = _Filler(defaults_text.splitlines(), indent)
    filler.fill(document, defaults, prefix="", depth=0, parent=None)
    return filler.added


class _Filler:
    def __init__(self, sample_lines: list[str], indent: int) -> None:
        self.sample_lines = sample_lines
        self.indent = indent
        self.added: list[str] = []

    def fill(
        self,
        target: CommentedMap,
        defaults: CommentedMap,
        *,
        prefix: str,
        depth: int,
        parent: tuple[CommentedMap, str] | None,
    ) -> None:
        previous: str | None = None
        for key, default in defaults.items():
            full = join_key(prefix, key)
            if key not in target:
                value = self.fresh(default, depth + 1)
                self._insert(target, previous, key, value, parent, column=depth * self.indent)
                self._comment_above(target, key, defaults, depth)
                self.added.append(full)
            elif _is_section(default):
                section = target[key]
                if section is None:
                    # A section whose every line is commented out: fill it from scratch.
                    target[key] = section = CommentedMap()
                if isinstance(section, CommentedMap):
                    self.fill(section, default, prefix=full, depth=depth + 1, parent=(target, key))
            previous = key

    def _insert(
        self,
        target: CommentedMap,
        previous: str | None,
        key: str,
        value: Any,
        parent: tuple[CommentedMap, str] | None,
        *,
        column: int,
    ) -> None:
        if previous is not None:
            target.insert(list(target).index(previous) + 1, key, value)
            moved = _take_tail(target, previous, column)
            if moved:
                owner, slot = _tail_slot(target, key)
                owner[slot] = CommentToken("\n" + moved, CommentMark(0))
            return
        target.insert(0, key, value)
        if parent is not None and len(target) > 1:
            _move_section_head(target, parent, first=list(target)[1])

    def _comment_above(
        self, target: CommentedMap, key: str, defaults: CommentedMap, depth: int
    ) -> None:
        lines = _sample_comment(self.sample_lines, defaults, key)
        if not lines:
            return
        mark = CommentMark(depth * self.indent)
        tokens = [CommentToken(f"# {line}\n" if line else "\n", mark) for line in lines]
        entry = target.ca.items.setdefault(key, [None, None, None, None])
        entry[1] = tokens + (entry[1] or [])

    def fresh(self, default: Any, depth: int) -> Any:
        """A new round-trip node holding ``default``, nested keys commented as in the sample."""
        if isinstance(default, CommentedMap) and default:
            node = CommentedMap()
            for key, value in default.items():
                node[key] = self.fresh(value, depth + 1)
                self._comment_above(node, key, default, depth)
            return node
        if isinstance(default, Mapping):
            return CommentedMap()
        if isinstance(default, list):
            seq = CommentedSeq(to_plain(default))
            if isinstance(default, CommentedSeq) and default.fa.flow_style():
                seq.fa.set_flow_style()
            return seq
        # ruamel's scalar types remember how the sample wrote them (quotes, "30.0").
        return default


def _is_section(default: Any) -> bool:
    return isinstance(default, CommentedMap) and bool(default)


def _sample_comment(lines: list[str], defaults: CommentedMap, key: str) -> list[str]:
    """The comment lines right above ``key`` in the sample, led by a blank if one precedes them."""
    try:
        line, column = defaults.lc.key(key)
    except (KeyError, TypeError):
        return []
    found: list[str] = []
    i = line - 1
    while i >= 0 and lines[i].lstrip().startswith("#"):
        if len(lines[i]) - len(lines[i].lstrip()) != column:
            break
        text = lines[i].strip()[1:]
        found.append(text[1:] if text.startswith(" ") else text)
        i -= 1
    found.reverse()
    if i >= 0 and not lines[i].strip():
        found.insert(0, "")
    return found


def _tail_slot(container: Any, key: Any) -> tuple[list[Any], int]:
    """Where ruamel keeps the comment that follows ``container[key]`` (the deepest last value)."""
    value = container[key]
    if isinstance(value, CommentedMap | CommentedSeq) and value and not value.fa.flow_style():
        last = list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        return _tail_slot(value, last)
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    return entry, (0 if isinstance(container, CommentedSeq) else 2)


def _take_tail(container: CommentedMap, key: str, column: int) -> str:
    """Cut off the comment lines after ``key``'s value that belong below a key at ``column``.

    What stays: an end-of-line comment, and comment lines indented deeper than
    ``column`` (they were written inside ``key``'s value).
    """
    owner, slot = _tail_slot(container, key)
    token = owner[slot]
    if token is None:
        return ""
    lines: list[str] = token.value.splitlines(keepends=True)
    keep = 1  # the end of the value's own line, with its comment if it has one
    while keep < len(lines) and _indent_of(lines[keep]) > column and lines[keep].strip():
        keep += 1
    if keep == len(lines):
        return ""
    kept = "".join(lines[:keep])
    if kept == "\n":
        owner[slot] = None
    else:
        token.value = kept
    return "".join(lines[keep:])


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _move_section_head(
    target: CommentedMap, parent: tuple[CommentedMap, str], *, first: str
) -> None:
    """Keep the comment at the top of a section above the key it was written for.

    ruamel stores it with the section's own key in the parent; a key inserted
    first would otherwise appear under it.
    """
    holder, name = parent
    entry = holder.ca.items.get(name)
    if not entry or not entry[3]:
        return
    head = entry[3]
    entry[3] = None
    target.ca.comment = None
    first_entry = target.ca.items.setdefault(first, [None, None, None, None])
    first_entry[1] = head + (first_entry[1] or [])
