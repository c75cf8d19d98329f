"""The CLI's habits (issue 13): fast --help, checked filter values, JSON errors under --json,
one server default, times with their zone, tables that do not wrap, and the flow commands
on the real API of the session stack."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ostinato.cli import main
from ostinato.cli.output import set_utc, when
from tests.api.conftest import ApiServer, api  # noqa: F401 (the fixture, for the flow commands)

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("ostinato.decider", "ostinato.flow.model", "ostinato.wire", "ostinato.kafka", "httpx",
         "confluent_kafka", "rich.console")


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def imported_by(*args: str) -> tuple[set[str], float]:
    """The modules `python -m ostinato ARGS` imports, and the CPU seconds it took."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "ostinato", *args],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr
    modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return modules, cpu


@pytest.mark.parametrize("args", [["--help"], ["execution", "list", "--help"],
                                  ["flow", "--help"], ["run", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    modules, cpu = imported_by(*args)
    heavy = sorted(m for m in modules if m.startswith(HEAVY))
    assert not heavy, heavy
    assert cpu < 0.5, cpu  # about 0.05 s here; -X importtime itself adds some


def test_a_bogus_state_is_a_usage_error_in_text_and_in_json() -> None:
    result = cli("execution", "list", "--state", "BOGUS")
    assert result.exit_code == 2
    assert "'BOGUS' is not one of" in result.stderr
    result = cli("execution", "list", "--state", "BOGUS", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stderr)
    assert "'BOGUS' is not one of" in error["message"] and error["details"] == []


def test_flow_validate_json(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("id: ok\nnamespace: a.b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: ok\nnamespace: a.b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Nope\n")
    result = cli("flow", "validate", "--json", str(good), str(bad))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(r["file"], r["valid"]) for r in report] == [(str(good), True), (str(bad), False)]
    assert "unknown task type" in report[1]["errors"][0]


def test_times_carry_their_zone() -> None:
    try:
        set_utc(True)
        assert when("2026-12-01T06:40:12.345Z") == "2026-12-01T06:40:12+00:00"
        assert when("2026-12-01T06:40:12.345Z", millis=True) == "2026-12-01T06:40:12.345+00:00"
        set_utc(False)
        local = when("2026-12-01T06:40:12Z")
        assert local[-6] in "+-" and local[-3] == ":", local  # an offset, whatever the zone
    finally:
        set_utc(False)


def test_an_unreachable_server_is_a_json_error_under_json() -> None:
    env = {"OSTINATO_SERVER": "http://127.0.0.1:9"}
    result = cli("execution", "get", "nope", "--json", env=env)
    assert result.exit_code == 1
    assert "cannot reach the ostinato API at http://127.0.0.1:9" in json.loads(result.stderr)["message"]
    assert cli("execution", "get", "nope", env=env).stderr.startswith("error: cannot reach")


def test_kill_uses_the_server_default_not_kafka() -> None:
    # no --server, no --bootstrap-servers: the API at OSTINATO_SERVER (default
    # http://127.0.0.1:8080), never "--bootstrap-servers is required"
    result = cli("execution", "kill", "some-id", env={"OSTINATO_SERVER": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    assert "cannot reach the ostinato API at http://127.0.0.1:9" in result.stderr
    assert "bootstrap" not in result.stderr


# ---- on the real API

@pytest.fixture
def server(api: ApiServer) -> Iterator[dict[str, str]]:  # noqa: F811
    yield {"OSTINATO_SERVER": api.base_url, "COLUMNS": "60"}


LONG_NS = "company.team.with.a.rather.long.namespace.name"


def test_flow_list_get_delete_export_on_the_real_api(server: dict[str, str], tmp_path: Path) -> None:
    source = f"id: habits-flow\nnamespace: {LONG_NS}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    path = tmp_path / "f.yaml"
    path.write_text(source)
    deployed = cli("flow", "deploy", str(path), env=server)  # the default: the API, not Kafka
    assert deployed.exit_code == 0, deployed.stderr
    listed = cli("flow", "list", "--namespace", LONG_NS, env=server)
    assert listed.exit_code == 0, listed.stderr
    assert LONG_NS in listed.stdout and "habits-flow" in listed.stdout  # not wrapped (piped)
    as_json = json.loads(cli("flow", "list", "--namespace", LONG_NS, "--json", env=server).stdout)
    assert [f["id"] for f in as_json["results"]] == ["habits-flow"]
    got = cli("flow", "get", LONG_NS, "habits-flow", env=server)
    assert got.exit_code == 0 and got.stdout == source
    target = tmp_path / "out.zip"
    exported = cli("flow", "export", "--namespace", LONG_NS, "--file", str(target), env=server)
    assert exported.exit_code == 0, exported.stderr
    archive = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    assert archive.namelist() == [f"{LONG_NS}.habits-flow.yml"]
    assert cli("flow", "delete", LONG_NS, "habits-flow", env=server).exit_code == 0
    missing = cli("flow", "get", LONG_NS, "habits-flow", "--json", env=server)
    assert missing.exit_code == 1
    assert json.loads(missing.stderr)["message"] == f"flow {LONG_NS}.habits-flow not found"


def test_piped_execution_list_keeps_whole_lines(server: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(f"id: habits-run\nnamespace: {LONG_NS}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
    assert cli("flow", "deploy", str(path), env=server).exit_code == 0
    base = server["OSTINATO_SERVER"]
    run = subprocess.run([sys.executable, "-m", "ostinato", "run", str(path), "--server", base],
                         capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "COLUMNS": "60"})
    assert run.returncode == 0, run.stderr
    assert "SUCCESS  t  " in run.stderr and "final state: SUCCESS in " in run.stderr
    result = cli("execution", "list", "--namespace", LONG_NS, "--state", "success", env=server)
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if LONG_NS in line]
    assert rows and all("habits-run" in row and "SUCCESS" in row for row in rows)
    assert all(row.rstrip().split()[-2][-6] in "+-" for row in rows)  # the start has its offset


def test_output_formats_table_json_jsonl(server: dict[str, str], tmp_path: Path) -> None:
    """`-o table|json|jsonl` on the commands that print data: json is the API's answer whole,
    jsonl one item a line, and a contradiction (`--json -o table`) is a usage error."""
    path = tmp_path / "f.yaml"
    for flow_id in ("formats-a", "formats-b"):
        path.write_text(f"id: {flow_id}\nnamespace: cli.formats\ntasks:\n"
                        "  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n")
        assert cli("flow", "deploy", str(path), env=server).exit_code == 0
    lines = cli("flow", "list", "--namespace", "cli.formats", "-o", "jsonl", env=server).stdout.splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["formats-a", "formats-b"]
    whole = json.loads(cli("flow", "list", "--namespace", "cli.formats", "-o", "json", env=server).stdout)
    assert whole["total"] == 2 and len(whole["results"]) == 2
    table = cli("flow", "list", "--namespace", "cli.formats", "-o", "table", env=server).stdout
    assert "formats-a" in table and not table.lstrip().startswith("{")
    got = cli("flow", "get", "cli.formats", "formats-a", "-o", "jsonl", env=server).stdout
    assert len(got.splitlines()) == 1 and json.loads(got)["id"] == "formats-a"
    clash = cli("flow", "list", "--json", "-o", "table", env=server)
    assert clash.exit_code == 2 and "disagree" in json.loads(clash.stderr)["message"]
    validated = cli("flow", "validate", "-o", "jsonl", str(path)).stdout.splitlines()
    assert [json.loads(line)["valid"] for line in validated] == [True]
    executions = cli("execution", "list", "--namespace", "cli.formats", "-o", "jsonl", env=server)
    assert executions.exit_code == 0 and all(json.loads(line)["namespace"] == "cli.formats"
                                             for line in executions.stdout.splitlines())
