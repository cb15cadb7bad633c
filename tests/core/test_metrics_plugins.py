"""Counters plugins declare: served with the bot's, by instance and label."""

from __future__ import annotations

import pytest

from botkit.metrics import InstanceMetrics, Metrics


def test_each_instance_counts_in_its_own_series() -> None:
    metrics = Metrics()
    one = InstanceMetrics(metrics, "echo").counter("botkit_demo_total", "Demo things.", "reason")
    two = InstanceMetrics(metrics, "echo2").counter("botkit_demo_total", "Demo things.", "reason")

    one.inc("odd")
    one.inc("odd")
    two.inc('say "hi"')

    text = metrics.render()
    assert "# TYPE botkit_demo_total counter" in text
    assert 'botkit_demo_total{instance="echo",reason="odd"} 2' in text
    assert 'botkit_demo_total{instance="echo2",reason="say \\"hi\\""} 1' in text
    assert one.value("odd") == 2 and two.value("odd") == 0


def test_a_reloaded_instance_keeps_counting_where_it_was() -> None:
    metrics = Metrics()
    InstanceMetrics(metrics, "echo").counter("botkit_demo_total", "Demo.", "reason").inc("x")

    again = InstanceMetrics(metrics, "echo").counter("botkit_demo_total", "Demo.", "reason")

    assert again.value("x") == 1


@pytest.mark.parametrize(
    ("name", "label"),
    [("has space", "reason"), ("botkit_ok_total", "instance"), ("botkit_ok_total", "1st")],
)
def test_names_prometheus_cannot_read_are_refused(name: str, label: str) -> None:
    with pytest.raises(ValueError, match="cannot name"):
        InstanceMetrics(Metrics(), "echo").counter(name, "Help.", label)


def test_one_name_has_one_label() -> None:
    metrics = InstanceMetrics(Metrics(), "echo")
    metrics.counter("botkit_demo_total", "Demo.", "reason")

    with pytest.raises(ValueError, match="reason"):
        metrics.counter("botkit_demo_total", "Demo.", "kind")
