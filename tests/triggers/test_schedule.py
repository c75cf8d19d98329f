"""Schedule trigger logic: occurrences, missed-schedule policies, conditions, derived ids."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ostinato.flow.inputs import type_inputs
from ostinato.flow.parser import parse_flow
from ostinato.triggers.schedule import conditions_hold, due, occurrences, request_for, schedules

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)  # a Monday


def flow_with(trigger: str) -> object:
    return parse_flow(f"""
id: cron
namespace: tests.schedule
inputs:
  - id: when
    type: STRING
tasks:
  - id: t
    type: io.kestra.plugin.core.debug.Return
    format: x
triggers:
{trigger}
""")


def only(flow):  # type: ignore[no-untyped-def]
    return schedules([flow])[0]


def test_occurrences_in_a_time_zone_and_with_seconds() -> None:
    _, paris = only(flow_with("  - {id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '0 9 * * *', timezone: Europe/Paris}"))
    moments = list(occurrences(paris, T0, T0 + timedelta(days=2)))
    assert [m.astimezone(timezone.utc).hour for m in moments] == [8, 8]  # 09:00 Paris in winter
    _, fast = only(flow_with("  - {id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '*/2 * * * * *', withSeconds: true}"))
    assert len(list(occurrences(fast, T0, T0 + timedelta(seconds=10)))) == 5


def test_missed_occurrences_follow_the_policy() -> None:
    def trigger(policy: str):  # type: ignore[no-untyped-def]
        return only(flow_with(f"  - {{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '* * * * *', recoverMissedSchedules: {policy}}}"))[1]

    now = T0 + timedelta(minutes=5, seconds=30)
    assert len(due(trigger("ALL"), T0, now)) == 5
    assert due(trigger("LAST"), T0, now) == [T0 + timedelta(minutes=5)]
    assert due(trigger("NONE"), T0, now) == []
    assert due(trigger("ALL"), None, now) == []  # first sight: from now on


def test_conditions_skip_occurrences_and_ids_derive_from_the_date() -> None:
    flow, trigger = only(flow_with("""  - id: s
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 * * *"
    inputs:
      when: "{{ trigger.date }}"
    conditions:
      - type: io.kestra.plugin.core.condition.Weekend"""))
    moments = list(occurrences(trigger, T0, T0 + timedelta(days=7)))
    allowed = [m for m in moments if conditions_hold(flow, trigger, m)]
    assert [m.strftime("%A") for m in allowed] == ["Saturday", "Sunday"]
    typed = lambda f, inputs: type_inputs(f.inputs, inputs)  # noqa: E731
    first = request_for(flow, trigger, allowed[0], T0, typed)
    again = request_for(flow, trigger, allowed[0], T0 + timedelta(hours=1), typed)
    assert first.execution_id == again.execution_id
    assert first.inputs["when"] == "2024-01-06T00:00:00.000000Z"
    assert first.trigger["variables"]["next"] == "2024-01-07T00:00:00.000000Z"
