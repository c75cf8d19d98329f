"""`ostinato local` is a stack you can keep: a stop (or a crash) and a start on the same data
directory keep flows, revisions and execution history, and new executions run; a SIGKILLed
worker is restarted and the executions in flight finish; a busy API port is an error."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ostinato.broker import EmbeddedBroker, free_port
from ostinato.broker.archive import read_frames
from ostinato.broker.persistence import archive_dir
from ostinato.wire.codec import default_codec

from tests.cli.local_harness import Local, children_of, command_of, gone, wait_for
from tests.cli.test_cli import ROOT

FLOW = """id: keep
namespace: company.durable
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "revision {{ flow.revision }}"
"""

SLOW_FLOW = """id: slow
namespace: company.durable
tasks:
  - id: nap
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 4
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: done
"""


def _state(execution: dict[str, object] | None) -> str | None:
    return None if execution is None else execution["state"]["current"]  # type: ignore[index]


@pytest.mark.parametrize("how", ["stop", "crash"])
def test_a_restart_on_the_same_data_dir_keeps_flows_and_history_and_runs_new_executions(
        tmp_path: Path, how: str) -> None:
    data_dir = tmp_path / "data"
    first = Local(data_dir)
    try:
        first.wait_healthy()
        first.deploy(FLOW)
        first.deploy(FLOW.replace("revision {{", "second revision {{"))
        old = first.run("company.durable", "keep")
        assert _state(old) == "SUCCESS", old
        put = httpx.put(f"{first.url}/namespaces/company.durable/kv/colour", content='"teal"',
                        headers={"Content-Type": "application/json"}, timeout=10)
        assert put.status_code in (200, 204), put.text
        wait_for(lambda: httpx.get(f"{first.url}/namespaces/company.durable/kv/colour",
                                   timeout=10).status_code == 200, 10, "the KV value readable")
        if how == "crash":  # a crash keeps what the keeper had archived (README): wait for it
            wait_for(lambda: _archived(data_dir, "kv", b"company.durable/colour")
                     and _archived_ended(data_dir, old["id"]), 15, "the keeper archived both")
    finally:
        if how == "stop":
            assert first.stop() == 0, first.text()[-3000:]
        else:
            first.crash()

    second = Local(data_dir)
    try:
        second.wait_healthy()
        revisions = httpx.get(f"{second.url}/flows/company.durable/keep/revisions", timeout=10)
        assert revisions.status_code == 200, revisions.text
        assert [r["revision"] for r in revisions.json()] == [1, 2]
        assert _state(second.execution(old["id"])) == "SUCCESS"
        listed = httpx.get(f"{second.url}/executions/search", params={"namespace": "company.durable"},
                           timeout=10).json()
        assert old["id"] in [e["id"] for e in listed["results"]]
        kv = httpx.get(f"{second.url}/namespaces/company.durable/kv/colour", timeout=10)
        assert kv.status_code == 200 and "teal" in kv.text, kv.text
        new = second.run("company.durable", "keep")
        assert _state(new) == "SUCCESS", new
        assert new["id"] != old["id"]
        assert "RestoreTimeout" not in second.text()
    finally:
        assert second.stop() == 0, second.text()[-3000:]


def test_a_sigkilled_worker_is_restarted_and_the_executions_in_flight_finish(tmp_path: Path) -> None:
    local = Local(tmp_path / "data")
    try:
        local.wait_healthy()
        local.deploy(SLOW_FLOW)
        started = [local.run("company.durable", "slow", wait=False)["id"] for _ in range(4)]
        worker = local.service_pid("worker")
        wait_for(lambda: all(_state(local.execution(i)) == "RUNNING" for i in started), 30,
                 "the executions running")
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: "worker exited" in local.text() and "worker restarted" in local.text(), 30,
                 "the supervisor restarting the worker")
        finished = wait_for(lambda: [s for s in (_state(local.execution(i)) for i in started)
                                     if s in ("SUCCESS", "FAILED", "KILLED")] if all(
            _state(local.execution(i)) in ("SUCCESS", "FAILED", "KILLED") for i in started) else None,
            120, "the executions in flight finished")
        assert finished == ["SUCCESS"] * len(started)
        assert local.process.poll() is None, "the stack must not stop when a service dies"
    finally:
        assert local.stop() == 0, local.text()[-3000:]


def test_a_busy_api_port_is_an_error_naming_the_port(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "ostinato", "local", "--data-dir", str(tmp_path / "data"),
             "--port", str(port)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"port {port} is in use" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr  # what holds it
    assert "all services up" not in result.stderr


def test_executions_started_concurrently_before_a_stop_are_all_listed_after(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Local(data_dir)
    try:
        first.wait_healthy()
        first.deploy(FLOW)
        with ThreadPoolExecutor(4) as pool:
            ids = [e["id"] for e in pool.map(lambda _: first.run("company.durable", "keep"), range(8))]
    finally:
        assert first.stop() == 0
    second = Local(data_dir)
    try:
        second.wait_healthy()
        assert [_state(second.execution(i)) for i in ids] == ["SUCCESS"] * len(ids)
    finally:
        assert second.stop() == 0


@pytest.mark.parametrize("how", ["stop", "crash"])
def test_an_execution_running_at_a_restart_ends_after_it_never_stuck(tmp_path: Path, how: str) -> None:
    data_dir = tmp_path / "data"
    first = Local(data_dir)
    try:
        first.wait_healthy()
        first.deploy(SLOW_FLOW)
        running = first.run("company.durable", "slow", wait=False)["id"]
        wait_for(lambda: _state(first.execution(running)) == "RUNNING", 30, "the execution running")
    finally:
        if how == "stop":
            assert first.stop() == 0, first.text()[-3000:]
        else:
            first.crash()
    second = Local(data_dir)
    try:
        second.wait_healthy()
        ended = wait_for(lambda: _state(second.execution(running)) in ("SUCCESS", "FAILED"), 60,
                         "the interrupted execution ended")
        assert ended
        assert _state(second.run("company.durable", "slow")) == "SUCCESS"
    finally:
        assert second.stop() == 0, second.text()[-3000:]


def test_a_dead_broker_restarts_everything_and_nothing_kept_is_lost(tmp_path: Path) -> None:
    local = Local(tmp_path / "data")
    try:
        local.wait_healthy()
        local.deploy(FLOW)
        old = local.run("company.durable", "keep")
        broker = next(pid for pid in children_of(local.process.pid) if "tansu" in command_of(pid)
                      or " broker " in command_of(pid))
        os.kill(broker, signal.SIGKILL)
        wait_for(lambda: "the broker died" in local.text(), 30, "the supervisor noticing the broker")
        local.wait_healthy()
        # what the keeper had not read when the broker died is done again (at least once)
        wait_for(lambda: _state(local.execution(old["id"])) == "SUCCESS", 60, "the old execution ended")
        assert _state(local.run("company.durable", "keep")) == "SUCCESS"
        assert local.process.poll() is None
    finally:
        assert local.stop() == 0, local.text()[-3000:]


def test_ostinato_api_exits_non_zero_when_it_cannot_bind(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with EmbeddedBroker() as broker:
            result = subprocess.run(
                [sys.executable, "-m", "ostinato", "api", "--port", str(port), "--bootstrap-servers",
                 broker.bootstrap_servers, "--data-dir", str(tmp_path / "api"), "--management-port", "0"],
                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr


def _archived(data_dir: Path, topic: str, key_end: bytes) -> bool:
    """The keeper's archive of `topic` holds a record whose key ends with `key_end`."""
    return any(record.key is not None and record.key.endswith(key_end)
               for record in read_frames(archive_dir(data_dir) / f"{topic}.log"))


def _archived_ended(data_dir: Path, execution_id: str) -> bool:
    """The keeper's archive of `executions` holds the execution's final, full record."""
    codec = default_codec()
    for record in read_frames(archive_dir(data_dir) / "executions.log"):
        if record.key == execution_id.encode() and record.value is not None:
            if codec.decode(record.value)[0] == "Execution":
                return True
    return False


def test_a_sigkill_of_ostinato_local_alone_leaves_no_orphan_and_the_next_start_works(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Local(data_dir)
    try:
        first.wait_healthy()
        first.deploy(FLOW)
        old = first.run("company.durable", "keep")
        # what a crash keeps is what the keeper had archived (README): wait for the ended
        # execution to be in the archive, then crash
        wait_for(lambda: _archived_ended(data_dir, old["id"]), 15, "the ended execution archived")
        tree = children_of(first.process.pid)
    finally:
        first.process.kill()  # only ostinato local: its broker and services must follow
        first.process.wait(10)
    wait_for(lambda: all(gone(pid) for pid in tree), 15, "no orphans left")
    second = Local(data_dir, port=first.port)  # the API port is free again
    try:
        second.wait_healthy()
        assert _state(second.execution(old["id"])) == "SUCCESS"
        assert _state(second.run("company.durable", "keep")) == "SUCCESS"
    finally:
        assert second.stop() == 0, second.text()[-3000:]


SCHEDULED_FLOW = """id: every-two-seconds
namespace: company.durable
triggers:
  - id: often
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/2 * * * * *"
    withSeconds: true
tasks:
  - id: tick
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
"""


def test_a_schedules_last_fire_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Local(data_dir)

    def fired(local: Local) -> list[str]:
        found = httpx.get(f"{local.url}/executions/search",
                          params={"namespace": "company.durable", "flowId": "every-two-seconds"}, timeout=10)
        return [e["id"] for e in found.json()["results"]] if found.status_code == 200 else []

    try:
        first.wait_healthy()
        first.deploy(SCHEDULED_FLOW)
        before = wait_for(lambda: fired(first), 30, "the schedule firing")
    finally:
        assert first.stop() == 0
    second = Local(data_dir)
    try:
        second.wait_healthy()
        restored = wait_for(lambda: re.search(r"schedule state restored\s+changelog_read=(\d+).*triggers=(\d+)",
                                              second.text()), 30, "the schedule state restored")
        # read back from the restored scheduler-state topic (the local store was rebuilt)
        assert int(restored.group(1)) >= 1 and int(restored.group(2)) == 1, restored.group(0)
        assert set(before) <= set(fired(second))
    finally:
        assert second.stop() == 0
