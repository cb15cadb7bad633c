"""Loading the main config: parse, check, apply the environment, upgrade the file."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from botkit.config.checks import check_main, read_instances
from botkit.config.env import apply_overrides, read_overrides
from botkit.config.files import (
    SAMPLE_NAME,
    dump_yaml,
    indentation,
    load_defaults,
    parse_yaml,
    read_yaml,
    sample_text,
    write_atomically,
)
from botkit.config.model import BotConfig, build_config
from botkit.config.schema import merge_config
from botkit.config.upgrade import add_missing_keys, lacks_keys
from botkit.errors import ConfigError

__all__ = ["load_config"]

log = logging.getLogger("botkit.config")


def load_config(
    path: Path | str, *, environ: Mapping[str, str] = os.environ, upgrade: bool = True
) -> BotConfig:
    """Read, check and complete the config file at ``path``.

    Keys the file lacks take their values from the sample config, and with
    ``upgrade`` they are also written into the file, with the sample's
    comments, keeping the user's own comments and order (only when nothing is
    wrong, and only when something is missing). ``BOTKIT_<SECTION>__<KEY>``
    variables in ``environ`` override single values and are never written.

    Raises :class:`~botkit.errors.ConfigError` listing every problem found.
    """
    path = Path(path)
    file = str(path)
    defaults_text = sample_text()
    defaults = load_defaults(defaults_text, SAMPLE_NAME)
    text, document = read_yaml(path, round_trip=False)

    merged, problems = merge_config(defaults, document, file=file)
    overrides, env_problems = read_overrides(defaults, environ)
    problems += env_problems
    apply_overrides(merged, overrides)
    origins = {override.key: override.variable for override in overrides}
    problems += check_main(merged, file=file, origins=origins)
    instances, instance_problems = read_instances(merged["plugins"], file=file)
    problems += instance_problems
    if problems:
        raise ConfigError(problems)

    if upgrade and lacks_keys(document, defaults):
        _upgrade(path, text, defaults_text)
    return build_config(path, merged, instances)


def _upgrade(path: Path, text: str, defaults_text: str) -> None:
    """Write the keys the file lacks into it; a read-only file is only logged."""
    # Read again, keeping comments and layout, now that there is something to write.
    document = parse_yaml(text, str(path))
    defaults = parse_yaml(defaults_text, SAMPLE_NAME)  # with the comments to copy
    style = indentation(document)
    target = document if isinstance(document, CommentedMap) else CommentedMap()
    added = add_missing_keys(target, defaults, defaults_text, indent=style[0])
    if not added:
        return
    new_text = dump_yaml(target, style)
    if target is not document:
        # The file held no mapping, at most comments: keep them above the new keys.
        new_text = text.rstrip() + "\n" + new_text if text.strip() else new_text.lstrip("\n")
    try:
        write_atomically(path, new_text)
    except OSError as e:
        log.warning("%s lacks %s, but cannot be updated: %s", path, ", ".join(added), e)
    else:
        log.info("added %s to %s", ", ".join(added), path)
