"""Invariant 10: every recorded event log replays through `decide` to the recorded states.

The logs under `tests/replay/logs/` are a contract (README.md): this test only reads them.
A difference means the decider's semantics changed; if that is deliberate, regenerate them
with `.venv/bin/python -m tests.replay.record` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.replay.logfile import LOGS_DIR, RecordedLog, as_recorded, plain, replay
from tests.replay.scenarios import SCENARIOS

LOG_FILES = sorted(LOGS_DIR.glob("*.json"))
REGENERATE = "if the change is deliberate: .venv/bin/python -m tests.replay.record, then review the diff"


def test_every_scenario_has_its_recorded_log() -> None:
    assert {path.stem for path in LOG_FILES} == {scenario.name for scenario in SCENARIOS}
    assert len(LOG_FILES) >= 12


@pytest.mark.parametrize("path", LOG_FILES, ids=lambda path: path.stem)
def test_recorded_log_replays_to_the_recorded_executions(path: Path) -> None:
    log = RecordedLog.read(path)
    replayed = replay(log.parsed_flows(), log.events())

    assert len(replayed.steps) == len(log.steps)
    for index, (expected, actual) in enumerate(zip(log.steps, replayed.steps)):
        where = f"{path.name} step {index} ({expected.event['record']})"
        assert plain(actual.event) == expected.event, f"{where}: the event does not read back"
        assert actual.state == expected.state, f"{where}: state; {REGENERATE}"
        commands = as_recorded(plain(actual.commands), expected.commands)
        assert commands == expected.commands, f"{where}: commands/logs; {REGENERATE}"
    assert set(replayed.final) == set(log.final)
    for execution_id, execution in log.final.items():
        assert replayed.final[execution_id] == execution, f"{path.name} {execution_id}; {REGENERATE}"


@pytest.mark.parametrize("path", LOG_FILES, ids=lambda path: path.stem)
def test_replaying_twice_gives_identical_snapshots_at_every_step(path: Path) -> None:
    log = RecordedLog.read(path)
    first = replay(log.parsed_flows(), log.events())
    second = replay(log.parsed_flows(), log.events())
    assert len(first.snapshots) == len(log.steps)
    for index, (one, two) in enumerate(zip(first.snapshots, second.snapshots)):
        assert one == two, f"{path.name} step {index} differs between two replays"
