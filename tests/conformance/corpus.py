"""Reading Kestra's conformance corpus (`../shared/conformance/kestra/`) and checking outcomes.

The corpus stays beside the project and is never copied into it: tests that use it run when
it is there and say plainly when it is not.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from ostinato.execution.model import Execution

CORPUS_DIR = Path(
    os.environ.get(
        "OSTINATO_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "kestra",
    )
)

#: cases the in-process driver cannot run, with the reason (the services corpus runs them)
DEFERRED = {
    "webhook.yaml": "webhook trigger: an HTTP call to the API; run by the services corpus",
}
#: cases the services corpus cannot run
DEFERRED_SERVICES: dict[str, str] = {}


def corpus_available() -> bool:
    return (CORPUS_DIR / "EXPECTED.yaml").is_file()


@dataclass
class Case:
    file: str
    index: int
    spec: dict[str, Any]
    entry: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.file}#{self.index}"

    @property
    def asserted(self) -> Any:
        return self.spec.get("asserted")


def load_cases() -> list[Case]:
    """Every case of EXPECTED.yaml that asserts something."""
    if not corpus_available():
        return []
    expected = yaml.safe_load((CORPUS_DIR / "EXPECTED.yaml").read_text())
    cases: list[Case] = []
    for entry in expected["flows"]:
        for index, spec in enumerate(entry.get("cases") or []):
            if spec.get("asserted") in (None, "none"):
                continue
            cases.append(Case(entry["file"], index, spec, entry))
    return cases


def corpus_flow_files() -> list[Path]:
    return sorted(
        p for p in CORPUS_DIR.glob("*.y*ml") if p.name not in ("EXPECTED.yaml",)
    )


# ------------------------------------------------------------------ matching


def first_run(execution: Execution, task_id: str) -> Any:
    runs = execution.runs_of(task_id)
    assert runs, f"no task run of `{task_id}`"
    return runs[0]


def dig(value: Any, path: list[str]) -> Any:
    for part in path:
        assert isinstance(value, dict) and part in value, f"`{part}` not in {value!r}"
        value = value[part]
    return value


def task_output(execution: Execution, dotted: str) -> Any:
    """`t2.value` -> the `value` output of the first task run of t2."""
    task_id, _, rest = dotted.partition(".")
    run = first_run(execution, task_id)
    return dig(run.outputs or {}, rest.split(".") if rest else [])


def matches(actual: Any, expected: Any, *, now: datetime | None = None) -> None:
    """Assert `actual` fits `expected`: a plain value, or one of the corpus matchers."""
    if isinstance(expected, dict) and len(expected) == 1:
        (kind, arg), = expected.items()
        if kind == "contains":
            assert arg in str(actual), f"{actual!r} does not contain {arg!r}"
            return
        if kind == "starts_with":
            assert str(actual).startswith(arg), f"{actual!r} does not start with {arg!r}"
            return
        if kind == "matches":
            assert re.fullmatch(arg, str(actual)), f"{actual!r} does not match {arg!r}"
            return
        if kind == "has_items":
            for item in arg:
                assert item in actual, f"{item!r} not in {actual!r}"
            return
        if kind == "not_equal":
            assert actual != arg, f"{actual!r} should differ from {arg!r}"
            return
        if kind == "contains_in_any_order":
            assert sorted(map(str, actual)) == sorted(map(str, arg)), f"{actual!r} vs {arg!r}"
            return
        if kind == "at_least":
            assert actual >= arg, f"{actual!r} < {arg!r}"
            return
        if kind == "iso_datetime_within_seconds_of_now":
            moment = datetime.fromisoformat(str(actual).replace("Z", "+00:00"))
            assert now is not None and abs(moment - now) <= timedelta(seconds=arg), actual
            return
    if isinstance(expected, dict) and isinstance(actual, dict):
        assert set(actual) >= set(expected), f"keys {sorted(expected)} not all in {sorted(actual)}"
        for key, value in expected.items():
            matches(actual[key], value, now=now)
        return
    if isinstance(expected, bool) or isinstance(actual, bool):
        assert actual == expected, f"{actual!r} != {expected!r}"
        return
    assert actual == expected or str(actual) == str(expected), f"{actual!r} != {expected!r}"


def corpus_environment() -> tuple[dict[str, str], dict[str, Any]]:
    """The KESTRA_ environment variables and globals the corpus cases rely on, together."""
    envs: dict[str, str] = {}
    globals_: dict[str, Any] = {}
    for case in load_cases():
        env = case.spec.get("env") or {}
        envs.update({k: str(v) for k, v in env.items() if k.startswith("KESTRA_")})
        globals_.update(env.get("kestra.variables.globals") or {})
    return envs, globals_


def case_params(deferred: dict[str, str]) -> list[Any]:
    """pytest params of every asserted case; deferred files are expected to fail, not run."""
    import pytest

    params = []
    for case in load_cases():
        marks = []
        if case.file in deferred:
            marks.append(pytest.mark.xfail(reason=deferred[case.file], run=False))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params
