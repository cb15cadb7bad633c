"""Config values from the environment: ``BOTKIT_<SECTION>__<KEY>``.

Secrets belong here rather than in the file, so overrides are applied to the
merged config only and never written back. A value for a string key is taken
verbatim (a password of ``12345`` or ``#x`` stays a string); any other value is
read as a YAML scalar, so ``BOTKIT_WEB__PORT=8080`` is an integer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from botkit.config.schema import check_value, unknown_key_reason
from botkit.errors import Problem

__all__ = ["ENV_FILE", "ENV_PREFIX", "Override", "apply_overrides", "read_overrides"]

ENV_PREFIX = "BOTKIT_"
"""Prefix of the environment variables that set config values."""

ENV_FILE = "environment"
"""What a :class:`~botkit.errors.Problem` from an environment variable names as its file."""


@dataclass(frozen=True, slots=True)
class Override:
    """One config value set by an environment variable."""

    variable: str
    path: tuple[str, ...]
    value: Any

    @property
    def key(self) -> str:
        """The dotted config key the variable sets."""
        return ".".join(self.path)


def read_overrides(
    defaults: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[list[Override], list[Problem]]:
    """Every ``BOTKIT_`` variable in ``environ`` that sets a key of ``defaults``, checked.

    Variables without ``__`` are left alone (they are not config keys, e.g. a
    test suite's ``BOTKIT_TEST_...``) unless they look like a key with a single
    underscore where ``__`` belongs, which would otherwise be ignored silently.
    """
    overrides: list[Override] = []
    problems: list[Problem] = []
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :]
        if "__" not in name:
            hint = _missing_separator_hint(name, defaults)
            if hint:
                problems.append(Problem(ENV_FILE, variable, hint))
            continue
        path = tuple(part.lower() for part in name.split("__"))
        override, problem = _read_one(variable, path, environ[variable], defaults)
        if override is not None:
            overrides.append(override)
        if problem is not None:
            problems.append(problem)
    return overrides, problems


def _read_one(
    variable: str, path: tuple[str, ...], raw: str, defaults: Mapping[str, Any]
) -> tuple[Override | None, Problem | None]:
    node: Any = defaults
    for depth, part in enumerate(path):
        key = ".".join(path[: depth + 1])
        if not isinstance(node, Mapping) or not part:
            return None, Problem(ENV_FILE, variable, f"{key!r} is not a config key")
        if not node:
            reason = f"the entries of {'.'.join(path[:depth])!r} cannot be set from the environment"
            return None, Problem(ENV_FILE, variable, reason)
        if part not in node:
            return None, Problem(ENV_FILE, variable, f"{key!r}: {unknown_key_reason(part, node)}")
        node = node[part]
    if isinstance(node, Mapping) and node:
        reason = f"{'.'.join(path)!r} is a section; set its keys one by one"
        return None, Problem(ENV_FILE, variable, reason)
    try:
        value = _parse(raw, node)
    except YAMLError as e:
        return None, Problem(ENV_FILE, variable, f"not a YAML value: {e}")
    checked, problems = check_value(node, value, file=ENV_FILE, key=variable)
    if problems:
        return None, problems[0]
    return Override(variable, path, checked), None


def _parse(raw: str, default: Any) -> Any:
    if isinstance(default, str):
        return raw
    if default is None:
        # An empty variable is how a shell unsets a value it cannot delete.
        return raw or None
    return YAML(typ="safe", pure=True).load(raw)


def _missing_separator_hint(name: str, defaults: Mapping[str, Any]) -> str | None:
    lowered = name.lower()
    for section in defaults:
        if lowered.startswith(f"{section}_") and isinstance(defaults[section], Mapping):
            key = name[len(section) + 1 :]
            return f"separate section and key with '__': {ENV_PREFIX}{section.upper()}__{key}"
    return None


def apply_overrides(config: dict[str, Any], overrides: list[Override]) -> None:
    """Set each override's value in the merged ``config``."""
    for override in overrides:
        node = config
        for part in override.path[:-1]:
            node = node[part]
        node[override.path[-1]] = override.value
