"""Invalid flows: every mistake of each file is reported at once, with path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostinato.flow.parser import FlowValidationError, parse_flow_file, validate_flow

INVALID = Path(__file__).parent / "invalid"

# file -> exact list of (path, line, substring of the message), in report order
EXPECTED: dict[str, list[tuple[str, int, str]]] = {
    "unknown-task-type.yaml": [
        ("tasks[1].tasks[0].type", 12, "unknown task type `io.kestra.plugin.core.debug.Nope`"),
        ("tasks[1].tasks[1].formatt", 16, "unknown property `formatt`"),
        ("tasks[2].type", 18, "unknown task type `io.kestra.plugin.core.log.Logg`"),
    ],
    "unknown-property.yaml": [
        ("color", 3, "unknown property `color`"),
        ("tasks[0].mesage", 9, "unknown property `mesage` for type `io.kestra.plugin.core.log.Log`"),
        ("tasks[1].retry.jitter", 17, "unknown property `jitter`"),
        ("tasks[2].id", 18, "duplicate task id `log`, first used at tasks[0]"),
    ],
    "missing-required.yaml": [
        ("namespace", 1, "missing required property `namespace`"),
        ("tasks[0].message", 4, "missing required property `message`"),
        ("tasks[1].then", 6, "missing required property `then`"),
        ("tasks[2].duration", 9, "missing required property `duration`"),
        ("tasks[3].type", 11, "missing required property `type`"),
    ],
    "wrong-type.yaml": [
        ("inputs[0].required", 7, "expected a boolean (true or false), got `sometimes`"),
        ("tasks[0].concurrent", 12, "expected an integer, got `abc`"),
        ("tasks[0].tasks[0].allowFailure", 17, "expected a boolean (true or false), got `maybe`"),
        ("tasks[0].tasks[0].runIf", 18, "expected a string or a boolean, got `[1, 2]`"),
        ("tasks[1].timeout", 21, "expected a string, got `5`"),
        ("tasks[1].level", 22, "unknown property `level`"),
    ],
    "duplicate-task-id.yaml": [
        ("tasks[0].cases.B[0].id", 14, "duplicate task id `same`, first used at tasks[0].cases.A[0]"),
        ("tasks[1].tasks[0].task.id", 21, "duplicate task id `switch`, first used at tasks[0]"),
        ("errors[0].id", 25, "duplicate task id `same`, first used at tasks[0].cases.A[0]"),
        ("errors[0].levle", 28, "unknown property `levle`"),
    ],
    "invalid-flow-id.yaml": [
        ("id", 1, "invalid id `my flow!`: an id must start with a letter or a digit"),
        ("tasks[0].id", 5, "invalid id `-starts-with-dash`"),
        ("tasks[1].id", 8, "invalid id `has.dot`"),
        ("outputs[1].id", 14, "duplicate output id `out`, first used at outputs[0]"),
    ],
    "invalid-namespace.yaml": [
        ("namespace", 2, "invalid namespace `Io.Kestra Tests`: a namespace must start with a lower-case"),
        ("triggers[1].id", 13, "duplicate trigger id `hourly`, first used at triggers[0]"),
        ("triggers[1].recoverMissedSchedules", 16, "expected one of 'ALL', 'LAST' or 'NONE', got `SOME`"),
    ],
    "dag-cycle.yaml": [
        ("tasks[0].tasks[0].dependsOn", 12, "dependency cycle: a -> c -> b -> a"),
        ("tasks[0].tasks[3].task.message", 23, "missing required property `message`"),
        ("tasks[0].tasks[3].dependsOn", 26, "dependency cycle: self -> self"),
    ],
    "dag-unknown-depends.yaml": [
        ("tasks[0].concurrent", 7, "must be at least 0, got `-1`"),
        ("tasks[0].tasks[1].dependsOn[1]", 17, "`dependsOn` names `ghost`, which is not a task of this Dag"),
        ("tasks[0].tasks[2].dependsOn[0]", 22, "`dependsOn` names `phantom`"),
    ],
    "invalid-cron.yaml": [
        ("inputs[0].defaults", 7, "`defaults` does not fit the input type DATE: Expected `DATE` but received `not a date`"),
        ("triggers[0].cron", 17, "invalid cron expression `61 * * * *`"),
        ("triggers[1].cron", 20, "expected 6 fields (seconds first"),
        ("triggers[2].cron", 24, "unknown cron nickname `@fortnightly`"),
        ("triggers[3].timezone", 28, "unknown time zone `Mars/Olympus`"),
    ],
}


def test_every_invalid_file_has_expectations() -> None:
    assert sorted(p.name for p in INVALID.glob("*.yaml")) == sorted(EXPECTED)
    assert len(EXPECTED) == 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_all_errors_reported_at_once(name: str) -> None:
    errors = validate_flow((INVALID / name).read_text())
    got = [(e.path, e.line) for e in errors]
    assert got == [(path, line) for path, line, _ in EXPECTED[name]], errors
    for error, (_, _, fragment) in zip(errors, EXPECTED[name]):
        assert fragment in error.message, (error, fragment)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parse_raises_with_every_error(name: str) -> None:
    with pytest.raises(FlowValidationError) as info:
        parse_flow_file(INVALID / name)
    assert len(info.value.errors) == len(EXPECTED[name])
    text = str(info.value)
    assert len(text.splitlines()) == len(EXPECTED[name])
    path, line, fragment = EXPECTED[name][0]
    assert text.splitlines()[0].startswith(f"{path}, line {line}: ")
    assert fragment in text.splitlines()[0]
