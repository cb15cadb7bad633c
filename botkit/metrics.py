"""Counters botkit keeps about itself, rendered in Prometheus' text format.

A handful of labelled counters do not justify a dependency; the format is
small (https://prometheus.io/docs/instrumenting/exposition_formats/).
"""

from __future__ import annotations

import re
from collections import defaultdict

__all__ = ["Counter", "InstanceCounter", "InstanceMetrics", "Metrics", "PluginCounter"]

# Prometheus' metric and label names (exposition formats, "Metric names and labels").
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Counter:
    """A monotonically increasing count, optionally split by plugin instance."""

    def __init__(self, name: str, help: str, label: str | None = "instance") -> None:
        self.name = name
        self.help = help
        self.label = label
        self.values: defaultdict[str, float] = defaultdict(float)

    def inc(self, label_value: str = "", amount: float = 1) -> None:
        """Add ``amount`` to the count for ``label_value``."""
        self.values[label_value] += amount

    def total(self) -> float:
        """The sum over every label value."""
        return sum(self.values.values())

    def render(self, kind: str = "counter") -> str:
        """This metric's lines in the text exposition format."""
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {kind}"]
        if self.label is None:
            lines.append(f"{self.name} {self.values['']:g}")
        else:
            for value, count in sorted(self.values.items()):
                lines.append(f'{self.name}{{{self.label}="{_escape(value)}"}} {count:g}')
        return "\n".join(lines)


class PluginCounter:
    """A counter a plugin declared, split by plugin instance and by one label of its own."""

    def __init__(self, name: str, help: str, label: str) -> None:
        for part in (name, label):
            if not _NAME.fullmatch(part) or part == "instance":
                raise ValueError(f"{part!r} cannot name a metric or a label of one")
        self.name = name
        self.help = help
        self.label = label
        self.values: defaultdict[tuple[str, str], float] = defaultdict(float)

    def render(self) -> str:
        """This metric's lines in the text exposition format."""
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        for (instance, value), count in sorted(self.values.items()):
            labels = f'instance="{_escape(instance)}",{self.label}="{_escape(value)}"'
            lines.append(f"{self.name}{{{labels}}} {count:g}")
        return "\n".join(lines)


class InstanceCounter:
    """One plugin instance's share of a :class:`PluginCounter`: what the plugin counts with."""

    def __init__(self, counter: PluginCounter, instance: str) -> None:
        self._counter = counter
        self._instance = instance

    def inc(self, label_value: str, amount: float = 1) -> None:
        """Add ``amount`` to this instance's count for ``label_value``."""
        self._counter.values[(self._instance, label_value)] += amount

    def value(self, label_value: str) -> float:
        """This instance's count for ``label_value`` so far."""
        return self._counter.values.get((self._instance, label_value), 0.0)


class InstanceMetrics:
    """The metrics a plugin instance may declare; served with the bot's at ``/_botkit/metrics``."""

    def __init__(self, metrics: Metrics, instance: str) -> None:
        self._metrics = metrics
        self._instance = instance

    def counter(self, name: str, help: str, label: str) -> InstanceCounter:
        """The counter ``name`` (created on first use) as this instance counts in it.

        Counts survive a reload, as a Prometheus counter should; another plugin
        declaring the same name shares it, split by instance.
        """
        counter = self._metrics.plugin_counters.get(name)
        if counter is None:
            counter = self._metrics.plugin_counters[name] = PluginCounter(name, help, label)
        elif counter.label != label:
            raise ValueError(f"metric {name!r} is counted by {counter.label!r}, not {label!r}")
        return InstanceCounter(counter, self._instance)


class Metrics:
    """Every metric of one bot."""

    def __init__(self) -> None:
        self.events_received = Counter(
            "botkit_events_received_total", "Room events received from the homeserver.", None
        )
        self.events_skipped = Counter(
            "botkit_events_skipped_total", "Events not handled, by reason.", "reason"
        )
        self.events_handled = Counter(
            "botkit_events_handled_total", "Events handled, per plugin instance."
        )
        self.handler_errors = Counter(
            "botkit_handler_errors_total", "Handlers that raised or timed out."
        )
        self.events_retried = Counter(
            "botkit_events_retried_total",
            "Failed handling of an event, to be retried, per plugin instance.",
        )
        self.events_pending = Counter(
            "botkit_events_pending",
            "Events waiting for a retry, or behind one in their lane, per plugin instance.",
        )
        self.dead_letters = Counter(
            "botkit_dead_letters_total",
            "Events given up on after every try (see `botkit replay`), per plugin instance.",
        )
        self.messages_sent = Counter(
            "botkit_messages_sent_total", "Messages sent, per plugin instance."
        )
        self.send_retries = Counter(
            "botkit_send_retries_total", "Sends retried, per plugin instance."
        )
        self.syncs = Counter("botkit_syncs_total", "Successful /sync requests.", None)
        self.sync_seconds = Counter(
            "botkit_sync_duration_seconds_total", "Time spent in /sync requests.", None
        )
        self.takeovers = Counter(
            "botkit_takeovers_total",
            "Times this process took over from another active one (active/standby).",
            None,
        )
        #: Counters plugins declared (:class:`InstanceMetrics`), by name.
        self.plugin_counters: dict[str, PluginCounter] = {}

    def render(self) -> str:
        """The whole exposition text."""
        parts = [
            c.render("gauge" if c is self.events_pending else "counter")
            for c in (
                self.events_received,
                self.events_skipped,
                self.events_handled,
                self.handler_errors,
                self.events_retried,
                self.events_pending,
                self.dead_letters,
                self.messages_sent,
                self.send_retries,
                self.syncs,
                self.sync_seconds,
                self.takeovers,
            )
        ]
        parts += [self.plugin_counters[name].render() for name in sorted(self.plugin_counters)]
        return "\n".join(parts) + "\n"
