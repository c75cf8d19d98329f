"""Flow trigger preconditions and their time windows (pure: a dict is the window store)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ostinato.execution.model import Execution, State
from ostinato.flow.parser import parse_flow
from ostinato.triggers.flow import flow_trigger_requests, listeners

T0 = datetime(2024, 3, 4, 8, 0, tzinfo=timezone.utc)


class Store(dict[str, dict[str, Any]]):
    def put(self, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self.pop(key, None)
        else:
            self[key] = value


def listener(window: str) -> Any:
    flow = parse_flow(f"""
id: listen
namespace: tests.pre
tasks:
  - id: t
    type: io.kestra.plugin.core.debug.Return
    format: x
triggers:
  - id: both
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: both
      flows:
        - {{namespace: tests.pre, flowId: a, states: [SUCCESS]}}
        - {{namespace: tests.pre, flowId: b, states: [SUCCESS]}}
{window}
""")
    return listeners([flow])


def ended(flow_id: str, at: datetime, state: str = "SUCCESS") -> Execution:
    execution = Execution(id=f"{flow_id}-{at.isoformat()}", namespace="tests.pre", flow_id=flow_id,
                          flow_revision=1, state=State.created(at))
    execution.state.move(state, at)
    return execution


def fire(listening: Any, store: Store, flow_id: str, at: datetime, state: str = "SUCCESS") -> int:
    source = ended(flow_id, at, state)
    requests, rejected = flow_trigger_requests(listening, source, 1, at, store, lambda f, i: i)
    assert rejected == []
    return len(requests)


def test_both_upstreams_within_the_duration_window_fire_once() -> None:
    listening, store = listener(""), Store()
    assert fire(listening, store, "a", T0) == 0
    assert fire(listening, store, "a", T0 + timedelta(minutes=1)) == 0
    assert fire(listening, store, "b", T0 + timedelta(minutes=2)) == 1
    assert fire(listening, store, "b", T0 + timedelta(minutes=3)) == 0  # reset on success


def test_a_failed_upstream_does_not_count_and_an_old_window_expires() -> None:
    listening, store = listener(""), Store()
    assert fire(listening, store, "a", T0, state="FAILED") == 0
    assert fire(listening, store, "b", T0) == 0
    assert fire(listening, store, "a", T0 + timedelta(days=2)) == 0  # b's hit expired with its day
    assert fire(listening, store, "b", T0 + timedelta(days=2, minutes=1)) == 1


def test_sliding_window_counts_each_hit_for_its_own_span() -> None:
    listening = listener("      timeWindow: {type: SLIDING_WINDOW, window: PT1H}")
    store = Store()
    assert fire(listening, store, "a", T0) == 0
    assert fire(listening, store, "b", T0 + timedelta(minutes=90)) == 0  # a slid out
    assert fire(listening, store, "a", T0 + timedelta(minutes=100)) == 1


def test_daily_deadline_ignores_hits_after_it_and_days_do_not_mix() -> None:
    listening = listener("      timeWindow: {type: DAILY_TIME_DEADLINE, deadline: '12:00:00'}")
    store = Store()
    assert fire(listening, store, "a", T0) == 0                      # 08:00
    assert fire(listening, store, "b", T0 + timedelta(hours=5)) == 0  # 13:00: past the deadline
    assert fire(listening, store, "b", T0 + timedelta(days=1)) == 0   # next day: a's hit is gone
    assert fire(listening, store, "a", T0 + timedelta(days=1, hours=1)) == 1
