"""What ``botkit init`` adds to the sample config: instances of the shipped plugins.

The sample itself stays the source of every default (its ``plugins: {}`` is what a
config without instances means); only the file ``init`` writes lists echo, ready
to run, and twim, disabled until the keys it needs are filled in.
"""

from __future__ import annotations

__all__ = ["with_plugins"]

_EMPTY = "plugins: {}\n"

_SHIPPED = """\
plugins:
  # The pingbot: answers !ping, and ranks homeservers by ping latency.
  echo:
    plugin: echo
    enabled: true
  # This Week in Matrix. Before enabling it, set rooms (the IDs of the rooms whose
  # messages are reports) and editors (the Matrix IDs of the people who pick them);
  # or hebbot_config, the path of a Hebbot config.toml that names both. Every other
  # key, with its default, is in the plugin's config.yaml (`botkit plugins` says where).
  twim:
    plugin: twim
    enabled: false
    config:
      rooms: []
      editors: []
"""


def with_plugins(sample: str) -> str:
    """``sample`` with its empty ``plugins:`` replaced by the shipped plugins' instances."""
    if _EMPTY not in sample:  # a sample reworded: better no instances than a broken file
        return sample
    head, _, tail = sample.partition(_EMPTY)
    # The commented example that followed ``plugins: {}`` is what _SHIPPED now shows.
    rest = tail.splitlines(keepends=True)
    while rest and rest[0].startswith("#  "):
        rest.pop(0)
    return head + _SHIPPED + "".join(rest)
