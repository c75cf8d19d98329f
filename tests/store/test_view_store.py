"""The API's view store on a real RocksDB: what a batch writes is there after reopening,
logs come back in the order they were written, offsets resume."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from ostinato.store.view import ViewBatch, ViewStore, log_key


def test_a_batch_survives_reopening_with_its_offsets(tmp_path: Path) -> None:
    store = ViewStore(tmp_path)
    batch = ViewBatch()
    batch.headers["e1"] = b"\x01header"
    for index in (10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0):  # index 10 must not sort before 9
        batch.runs[("e1", index)] = f"run {index}".encode()
    batch.summaries["e1"] = {"id": "e1", "state": "RUNNING", "flowId": "f", "namespace": "n"}
    batch.summaries["e2"] = {"id": "e2", "state": "SUCCESS", "flowId": "f-other", "namespace": "n"}
    # offsets 9 and 10 of one partition: key order must follow the numbers, not the text
    batch.logs[log_key("e1", 3, 10)] = {"message": "second"}
    batch.logs[log_key("e1", 3, 9)] = {"message": "first"}
    batch.logs[log_key("e10", 3, 1)] = {"message": "another execution"}
    batch.offsets[("executions", 3)] = 11
    store.write(batch)
    store.close()

    again = ViewStore(tmp_path)
    found = again.execution("e1", lambda header: 11)
    assert found == (b"\x01header", [f"run {i}".encode() for i in range(11)])
    assert again.execution("e2", int) is None
    with pytest.raises(ValueError, match="task run 11 is not in the view"):
        again.execution("e1", lambda header: 12)
    assert [s["id"] for s in again.summaries()] == ["e1", "e2"]
    assert [s["id"] for s in again.summaries("f")] == ["e1"], "flow `f` is not a prefix of `f-other`"
    assert [s["id"] for s in again.summaries("f-other")] == ["e2"] and list(again.summaries("g")) == []
    assert [entry["message"] for _, entry in again.logs("e1")] == ["first", "second"]
    assert again.offset("executions", 3) == 11 and again.offset("logs", 0) == 0
    again.close()


def test_an_empty_batch_writes_nothing(tmp_path: Path) -> None:
    store = ViewStore(tmp_path)
    store.write(ViewBatch())
    assert list(store.summaries()) == [] and store.offset("executions", 0) == 0
    store.close()


def test_forget_removes_one_execution_its_summaries_and_logs(tmp_path: Path) -> None:
    store = ViewStore(tmp_path)
    batch = ViewBatch()
    for execution_id in ("e1", "e10", "e1.x"):
        batch.headers[execution_id] = execution_id.encode()
        batch.runs[(execution_id, 0)] = b"run"
        batch.summaries[execution_id] = {"id": execution_id, "flowId": "f", "namespace": "n"}
        batch.logs[log_key(execution_id, 0, 1)] = {"message": execution_id}
        batch.logs[log_key(execution_id, 0, 2)] = {"message": execution_id}
    store.write(batch)
    store.forget({"id": "e1", "flowId": "f", "namespace": "n"})
    assert store.execution("e1", int) is None and list(store.logs("e1")) == []
    assert list(store._scan(b"r/e1/")) == [], "its task runs are gone too"
    assert sorted(s["id"] for s in store.summaries()) == ["e1.x", "e10"]
    assert sorted(s["id"] for s in store.summaries("f")) == ["e1.x", "e10"]
    for kept in ("e10", "e1.x"):  # ids that share a prefix with the forgotten one stay whole
        assert store.execution(kept, lambda _: 1) == (kept.encode(), [b"run"])
        assert len(list(store.logs(kept))) == 2
    store.close()


def test_an_execution_is_read_whole_while_batches_are_written(tmp_path: Path) -> None:
    store = ViewStore(tmp_path)
    stop = threading.Event()
    runs = 20

    def update() -> None:  # batch n: the header and every run say n
        for n in range(1, 5000):
            if stop.is_set():
                return
            batch = ViewBatch()
            batch.headers["e1"] = str(n).encode()
            for index in range(runs):
                batch.runs[("e1", index)] = str(n).encode()
            store.write(batch)

    writer = threading.Thread(target=update)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often: a read straddles writes if it can
    writer.start()
    reads = 0
    try:
        while writer.is_alive():
            found = store.execution("e1", lambda header: runs)
            if found is not None:
                header, records = found
                assert set(records) == {header}, "a header and runs from different batches"
                reads += 1
    finally:
        stop.set()
        writer.join()
        sys.setswitchinterval(switch)
        store.close()
    assert reads > 0
