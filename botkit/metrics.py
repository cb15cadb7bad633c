"""Counters botkit keeps about itself, rendered in Prometheus' text format.

A handful of labelled counters do not justify a dependency; the format is
small (https://prometheus.io/docs/instrumenting/exposition_formats/).
"""

from __future__ import annotations

from collections import defaultdict

__all__ = ["Counter", "Metrics"]


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
                escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                lines.append(f'{self.name}{{{self.label}="{escaped}"}} {count:g}')
        return "\n".join(lines)


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
            )
        ]
        return "\n".join(parts) + "\n"
