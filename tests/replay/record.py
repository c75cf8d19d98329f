"""Regenerate the recorded event logs: `.venv/bin/python -m tests.replay.record [name ...]`.

Only for a deliberate change of the decider's semantics (see README.md): review the diff of
`tests/replay/logs/` before committing it. The test never writes these files.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

from ostinato.decider import events as ev
from ostinato.inprocess import InProcessRunner
from ostinato.tasks import debug as debug_tasks
from tests.replay.logfile import LOGS_DIR, RecordedLog, plain, replay
from tests.replay.scenarios import SCENARIOS, Scenario


def record(scenario: Scenario, storage: Path) -> RecordedLog:
    """Run `scenario`, check it ended where it says, and return its recorded log."""
    events: list[ev.Event] = []
    runner = InProcessRunner(storage_dir=storage, on_event=events.append)
    flows = [runner.deploy(source) for source in scenario.flows]
    scenario.drive(runner, flows)
    executions = dict(runner.executions)
    for execution_id, state in scenario.expect.items():
        actual = executions[execution_id].state.current
        assert actual == state, (f"{scenario.name}: {execution_id} ended {actual}, not {state}: "
                                 f"{[line.message for line in runner.logs_of(execution_id)]}")
    scenario.check(executions)

    log = RecordedLog(scenario.name, scenario.description, list(scenario.flows))
    replayed = replay(log.parsed_flows(), events)
    log.steps, log.final = replayed.steps, replayed.final

    # The file must give back exactly these events, and they the live run's executions.
    back = RecordedLog.from_json(plain(log.to_json()))
    assert back.events() == events, f"{scenario.name}: events do not survive the file format"
    live = {key: plain(execution.to_dict()) for key, execution in sorted(executions.items())}
    assert replay(back.parsed_flows(), back.events()).final == live, (
        f"{scenario.name}: replaying the recorded events does not give the live executions")
    return log


def main(names: list[str]) -> None:
    LOGS_DIR.mkdir(exist_ok=True)
    chosen = [s for s in SCENARIOS if not names or s.name in names]
    unknown = set(names) - {s.name for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    # The `duration` metric of a Return task is the one wall-clock fact in these events:
    # pinned to 0 so that regenerating the logs without a change of semantics changes nothing.
    still = SimpleNamespace(perf_counter=lambda: 0.0)
    for scenario in chosen:
        with tempfile.TemporaryDirectory() as storage, \
                mock.patch.object(debug_tasks, "time", still):
            log = record(scenario, Path(storage))
        path = LOGS_DIR / f"{scenario.name}.json"
        log.write(path)
        print(f"{path}: {len(log.steps)} events, executions {sorted(log.final)}")


if __name__ == "__main__":
    main(sys.argv[1:])
