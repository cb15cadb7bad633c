"""Typed plugin config: an instance's merged config structured into the plugin's class.

A plugin declares its config as an attrs class (or a dataclass) and names it in
:attr:`botkit.Plugin.config_class`; ``self.config`` is then an instance of it::

    @attrs.frozen
    class KarmaConfig:
        top: int = attrs.field(default=10, validator=between(1, 100))
        mode: Literal["all", "mentions"] = "all"
        limit: int | None = None

        def __attrs_post_init__(self) -> None:
            if self.limit is not None and self.limit < self.top:
                raise Invalid("limit", f"must be at least top ({self.top}), not {self.limit}")

The commented ``config.yaml`` stays the source of defaults and of the comments users
read; the class is built from it merged with the user's values (:func:`merge_config`
has already filled in missing keys and refused unknown ones) and adds what a default
value cannot say: ranges, enums, optional values, rules across fields. Types are
strict: ``"7"`` is no integer and ``1.5`` none either. Every problem becomes one
:class:`~botkit.errors.Problem` naming the file and the dotted key, at ``botkit check``
and when the instance starts.

cattrs does the structuring (attrs comes with mautrix; cattrs adds about 7 ms and
0.3 MB to start-up, where pydantic would add 45 ms and 6 MB). A class may define a
classmethod ``prepare(raw) -> (dict, [Invalid, ...])`` that rewrites the merged dict
first and returns the problems it found on the way: twim reads Hebbot's TOML file
there, and its problems (naming the TOML file) are reported with the class's own.
What ``prepare`` raises is reported as a validator's is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

import attrs
from cattrs import Converter
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from botkit.config.schema import describe_value, join_key, unknown_key_reason
from botkit.errors import ConfigError, Problem

__all__ = [
    "Invalid",
    "at_least",
    "between",
    "build_config",
    "mismatched_keys",
    "structure_config",
]

T = TypeVar("T")


class Invalid(ValueError):
    """A value a config class refuses: raise it from validators and ``__attrs_post_init__``.

    ``key`` is dotted below the class being built (``""`` for the class as a whole);
    ``file`` names another file the value came from (twim's Hebbot TOML), when it did.
    Several at once may be raised as an ``ExceptionGroup``.
    """

    def __init__(self, key: str, reason: str, *, file: str = "") -> None:
        super().__init__(f"{key}: {reason}" if key else reason)
        self.key = key
        self.reason = reason
        self.file = file


Validator = Callable[[Any, Any, Any], None]
"""An attrs validator: called with the instance, the attribute and the value."""


def between(low: float, high: float) -> Validator:
    """An attrs validator: the value lies from ``low`` to ``high``, both included."""

    def check(_instance: object, attribute: Any, value: Any) -> None:
        if value is not None and not low <= value <= high:
            raise Invalid(attribute.name, f"must be from {low} to {high}, not {value}")

    return check


def at_least(low: float) -> Validator:
    """An attrs validator: the value is ``low`` or more."""

    def check(_instance: object, attribute: Any, value: Any) -> None:
        if value is not None and value < low:
            raise Invalid(attribute.name, f"must be at least {low}, not {value}")

    return check


def structure_config(cls: type[T], data: Mapping[str, Any], *, file: str, key_prefix: str) -> T:
    """``data`` (a merged instance config) as a ``cls``; :class:`ConfigError` lists
    every problem, each naming ``file`` and the key below ``key_prefix``."""
    found: list[BaseException] = []
    raw: Any = None  # what prepare made of data: the values the fields are built from
    try:
        prepare = getattr(cls, "prepare", None)
        raw, found = prepare(dict(data)) if callable(prepare) else (data, [])
        built: T = _CONVERTER.structure(raw, cls)
    except (ValueError, TypeError, KeyError, ExceptionGroup) as e:
        found = [*found, e, *_field_validators(cls, raw)]
    if not found:
        return built
    problems = list(
        dict.fromkeys(  # a validator's complaint may be found twice: once is enough
            Problem(where or file, key if where else _join(key_prefix, key), reason)
            for error in found
            for where, key, reason in _walk(error, "")
        )
    )
    raise ConfigError(problems) from found[-1]


def _field_validators(cls: type[Any], raw: Any) -> list[Invalid]:
    """What each field's validator says of its value, every field on its own.

    attrs stops at the first validator that fails, and a type error elsewhere stops
    them all; a user should hear of every out-of-range value in one ``botkit check``.
    Only :class:`Invalid` counts: it names its key. A value that is not even of the
    field's type is reported already, and a validator that needs the whole object
    (which does not exist here) is left to the run that built it.
    """
    if not (attrs.has(cls) and isinstance(raw, Mapping)):
        return []
    attrs.resolve_types(cls)
    found: list[Invalid] = []
    for field in attrs.fields(cls):
        key = field.alias or field.name
        if field.validator is None or key not in raw:
            continue
        try:
            value = _CONVERTER.structure(raw[key], field.type)
            field.validator(None, field, value)
        except Invalid as e:
            found.append(e)
        except Exception:  # reported by the structuring, or needs the whole object
            continue
    return found


def build_config(
    config_class: type[Any] | None, merged: Mapping[str, Any], *, file: str, key_prefix: str
) -> Any:
    """What a plugin sees as ``self.config``: ``merged`` built as ``config_class``, or
    (without one) a copy of ``merged``; :class:`ConfigError` lists the problems."""
    if config_class is None:
        return dict(merged)
    return structure_config(config_class, merged, file=file, key_prefix=key_prefix)


def mismatched_keys(
    config_class: type[Any], defaults: Mapping[str, Any], *, file: str
) -> list[Problem]:
    """Where a config class and its ``config.yaml`` (``file``) disagree about the keys.

    A plugin's mistake, not its user's: found when the plugin loads, naming the
    defaults file, rather than as a puzzling "unknown key" in the user's config.
    """
    name = config_class.__name__
    fields = _fields(config_class)
    problems = [
        Problem(file, key, f"not a field of the config class {name}")
        for key in defaults
        if key not in fields
    ]
    problems += [
        Problem(file, key, f"missing: {name}.{key} has no default of its own")
        for key, required in fields.items()
        if required and key not in defaults
    ]
    return problems


def _fields(config_class: type[Any]) -> dict[str, bool]:
    """The fields ``__init__`` takes, and whether each is required."""
    if attrs.has(config_class):
        return {
            f.alias or f.name: f.default is attrs.NOTHING
            for f in attrs.fields(config_class)
            if f.init
        }
    return {
        f.name: f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        for f in dataclasses.fields(config_class)
        if f.init
    }


def _walk(error: BaseException, key: str) -> Iterator[tuple[str, str, str]]:
    """(file or "", key, reason) of each problem in a cattrs error tree."""
    if isinstance(error, Invalid):
        yield error.file, error.key if error.file else _join(key, error.key), error.reason
    elif isinstance(error, ClassValidationError):
        named, unnamed = error.group_exceptions()
        for sub, field in named:
            yield from _walk(sub, _join(key, field.name))
        for sub in unnamed:  # raised by the class itself: a validator, a cross-field rule
            yield from _walk(sub, key)
    elif isinstance(error, IterableValidationError):
        indexed, unindexed = error.group_exceptions()
        for sub, item in indexed:
            yield from _walk(sub, f"{key}[{item.index}]")
        for sub in unindexed:
            yield from _walk(sub, key)
    elif isinstance(error, ForbiddenExtraKeysError):
        known = list(_fields(error.cl))
        for extra in sorted(error.extra_fields):
            yield "", _join(key, extra), unknown_key_reason(extra, known)
    elif isinstance(error, ExceptionGroup):
        for sub in error.exceptions:
            yield from _walk(sub, key)
    elif isinstance(error, KeyError):
        yield "", key, "missing"
    else:
        yield "", key, str(error)


def _join(prefix: str, key: str) -> str:
    return join_key(prefix, key) if key else prefix


def _strict(kind: type[Any], accepts: tuple[type, ...], words: str) -> Callable[[Any, Any], Any]:
    """A structure hook that takes only values that already are ``accepts`` (no ``int("7")``)."""

    def structure(value: Any, _type: Any) -> Any:
        # bool is an int to Python, not to someone writing YAML.
        if isinstance(value, accepts) and (kind is bool or not isinstance(value, bool)):
            return kind(value)
        raise TypeError(f"expected {words}, got {describe_value(value)}")

    return structure


def _is_literal(type_: Any) -> bool:
    origin: object = get_origin(type_)
    return origin is Literal


def _literal(value: Any, type_: Any) -> Any:
    choices = get_args(type_)
    if value in choices:
        return value
    words = ", ".join(repr(c) for c in choices)
    raise ValueError(f"expected one of {words}, got {describe_value(value)}")


def _converter() -> Converter:
    converter = Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(int, _strict(int, (int,), "an integer"))
    converter.register_structure_hook(float, _strict(float, (int, float), "a number"))
    converter.register_structure_hook(str, _strict(str, (str,), "a string"))
    converter.register_structure_hook(bool, _strict(bool, (bool,), "true or false"))
    converter.register_structure_hook_func(_is_literal, _literal)
    return converter


_CONVERTER = _converter()
