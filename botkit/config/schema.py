"""Checking a user's config against a commented defaults document.

The defaults document is the schema: each key's type is read off its default
value, so a sample config (or a plugin's ``config.yaml``) needs no separate
schema to stay in step with.

=============================  ==========================================
default                        accepted
=============================  ==========================================
``true`` / ``false``           a boolean
``42``                         an integer (not a boolean)
``4.2``                        a number; integers become floats
``"text"``                     a string
``null``                       a string or null
``{}``                         any mapping (free-form)
a mapping with keys            a mapping, each key checked in turn
``[]``                         any list
a list with items              a list whose items match the first item
=============================  ==========================================

A ``null`` where a mapping or list is expected counts as empty, because that is
what a section whose every line is commented out parses as.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ruamel.yaml.scalarbool import ScalarBoolean

from botkit.errors import Problem

__all__ = [
    "check_value",
    "describe_type",
    "describe_value",
    "join_key",
    "merge_config",
    "to_plain",
    "unknown_key_reason",
]


def join_key(prefix: str, key: object) -> str:
    """The dotted path of ``key`` below ``prefix`` (``"web" + "port"`` -> ``"web.port"``)."""
    return f"{prefix}.{key}" if prefix else str(key)


def to_plain(value: Any) -> Any:
    """``value`` with ruamel's round-trip containers and scalars turned into plain Python."""
    if isinstance(value, Mapping):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    # ruamel's ScalarBoolean (an anchored true/false) subclasses int, not bool.
    if isinstance(value, ScalarBoolean):
        return bool(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def describe_type(default: Any) -> str:
    """What a value must be to stand in for ``default``, in words."""
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if default is None:
        return "a string or null"
    if isinstance(default, Mapping):
        return "a mapping"
    if isinstance(default, list):
        return "a list"
    return f"a {type(default).__name__}"


def describe_value(value: Any) -> str:
    """``value`` as a user would recognise it from their YAML."""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, date):
        return f"a date ({value.isoformat()}; quote it to make it a string)"
    return f"a {type(value).__name__}"


def merge_config(
    defaults: Mapping[str, Any],
    user: object,
    *,
    file: str,
    key_prefix: str = "",
    typed: bool = False,
) -> tuple[dict[str, Any], list[Problem]]:
    """Fill ``user`` up from ``defaults`` and check every value the user gave.

    Returns the merged config as plain Python (user values win) and every
    problem found. A value with a problem is replaced by its default (a bad
    list item is left out), so the result always has the defaults' shape and
    further checks of it can still run. Problems name ``file`` and the dotted
    key below ``key_prefix``; ``user`` may be ``None`` (nothing set). ``typed``: a typed
    config class checks the result (see :mod:`botkit.config.typed`), so a ``null``
    default takes any value and the class says which (an optional integer, say).
    """
    problems: list[Problem] = []
    merged = _merge_mapping(defaults, user, file, key_prefix, problems, typed)
    return merged, problems


def check_value(default: Any, value: Any, *, file: str, key: str) -> tuple[Any, list[Problem]]:
    """``value`` as plain Python if it may stand in for ``default``, else ``None`` and why not."""
    problems: list[Problem] = []
    checked = _check(default, value, file, key, problems, False)
    return (None if problems else checked), problems


def _merge_mapping(
    defaults: Mapping[str, Any],
    user: object,
    file: str,
    prefix: str,
    problems: list[Problem],
    typed: bool,
) -> dict[str, Any]:
    merged: dict[str, Any] = {k: to_plain(v) for k, v in defaults.items()}
    if user is None:
        return merged
    if not isinstance(user, Mapping):
        problems.append(Problem(file, prefix, _wrong_type(defaults, user)))
        return merged
    for key, value in user.items():
        full = join_key(prefix, key)
        if not isinstance(key, str):
            problems.append(Problem(file, full, "keys must be strings"))
        elif key in defaults:
            merged[key] = _check(defaults[key], value, file, full, problems, typed)
        else:
            problems.append(Problem(file, full, unknown_key_reason(key, defaults)))
    return merged


def unknown_key_reason(key: str, known: Sequence[str] | Mapping[str, Any]) -> str:
    """Why ``key`` is rejected, with the closest known key as a hint when one is close."""
    close = difflib.get_close_matches(key, [str(k) for k in known], n=1)
    return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"


def _check(
    default: Any, value: Any, file: str, key: str, problems: list[Problem], typed: bool
) -> Any:
    """``value`` as plain Python, or ``default`` (with a problem recorded) where it does not fit."""
    if isinstance(default, Mapping):
        if not default:
            return _free_form(value, file, key, problems)
        return _merge_mapping(default, value, file, key, problems, typed)
    if isinstance(default, list):
        return _check_list(default, value, file, key, problems, typed)
    plain = to_plain(value)
    if (typed and default is None) or _scalar_fits(default, plain):
        return float(plain) if isinstance(default, float) else plain
    problems.append(Problem(file, key, _wrong_type(default, plain)))
    return to_plain(default)


def _scalar_fits(default: Any, value: Any) -> bool:
    # bool is tested before int on both sides: True is an int to Python, not to a user.
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, str):
        return isinstance(value, str)
    if default is None:
        return value is None or isinstance(value, str)
    return True


def _free_form(value: Any, file: str, key: str, problems: list[Problem]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(file, key, _wrong_type({}, value)))
        return {}
    plain: dict[str, Any] = to_plain(value)
    return plain


def _check_list(
    default: list[Any], value: Any, file: str, key: str, problems: list[Problem], typed: bool
) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(file, key, _wrong_type(default, value)))
        return list(to_plain(default))
    if not default:
        return list(to_plain(value))
    checked = []
    for i, item in enumerate(value):
        before = len(problems)
        element = _check(default[0], item, file, f"{key}[{i}]", problems, typed)
        # An item of the wrong type is left out, so that later checks see only good ones.
        if len(problems) == before:
            checked.append(element)
    return checked


def _wrong_type(default: Any, value: Any) -> str:
    return f"expected {describe_type(default)}, got {describe_value(to_plain(value))}"
