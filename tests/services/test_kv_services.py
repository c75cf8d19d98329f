"""The KV store through the real services and broker: a flow's Set/Get/GetKeys/Delete and
kv() on the worker, TTL expiry, and the store shared by separate processes' tables with
read-your-writes for the writer (issue 11)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.kv.store import KvStore
from ostinato.kv.values import typed
from ostinato.wire.codec import default_codec
from tests.kv.test_kv_inprocess import LIFECYCLE


def unique_namespace() -> str:
    return f"kv.services.n{uuid.uuid4().hex[:8]}"


def test_a_flow_sets_gets_lists_and_deletes_on_the_worker(bus: ServiceRunner) -> None:
    ns = unique_namespace()
    run = bus.run(bus.deploy(LIFECYCLE.replace("company.team", ns)))
    assert run.state.current == "SUCCESS"
    outputs = {r.task_id: r.outputs for r in run.task_run_list}
    assert outputs["kv_get"] == {"value": {"name": "Kestra", "count": 3}}
    assert outputs["kv_get_keys"] == {"keys": ["my_key", "my_other_key"]}
    assert (outputs["kv_delete"], outputs["kv_delete_again"]) == ({"deleted": True}, {"deleted": False})
    assert outputs["kv_get_missing"] == {"value": None}
    bus.wait_for(lambda: any(line.message == "Kestra x42" for line in bus.logs_of(run.id)),
                 what="the Log task's line rendered with kv()")


TTL = """
id: kv_ttl
namespace: {ns}
tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: token
    value: abc
    ttl: PT1S
  - id: before
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ kv('token') }}}}"
  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT1.5S
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ kv('token', errorOnMissing=false) ?? 'expired' }}}}"
"""


def test_a_value_expires_after_its_ttl(bus: ServiceRunner) -> None:
    run = bus.run(bus.deploy(TTL.format(ns=unique_namespace())))
    assert run.state.current == "SUCCESS"
    outputs = {r.task_id: r.outputs for r in run.task_run_list}
    assert outputs["before"] == {"value": "abc"} and outputs["after"] == {"value": "expired"}


def test_two_stores_share_entries_and_the_writer_reads_its_own_writes(stack: LocalStack) -> None:
    settings, codec = stack.settings(), default_codec()
    writer, reader = KvStore(settings, codec), KvStore(settings, codec)
    writer.start()
    reader.start()
    ns = unique_namespace()
    try:
        writer.put("acme", ns, "shared", typed({"v": 1}), ttl=timedelta(hours=1))
        mine = writer.get("acme", ns, "shared")  # no wait: the write returned once read back
        assert mine is not None and mine.value == {"v": 1}
        assert writer.get(None, ns, "shared") is None  # another tenant's key
        deadline = time.monotonic() + 10
        while reader.get("acme", ns, "shared") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        seen = reader.get("acme", ns, "shared")
        assert seen is not None and seen.type == "JSON" and seen.expiration == mine.expiration
        assert writer.delete("acme", ns, "shared") is True
        assert writer.get("acme", ns, "shared") is None and writer.list("acme", ns) == []
        # a store started now rebuilds every live entry from the topic
        writer.put("acme", ns, "kept", typed(7))
        late = KvStore(settings, codec)
        late.start()
        try:
            assert [(e.key, e.value) for e in late.list("acme", ns)] == [("kept", 7)]
        finally:
            late.close()
    finally:
        writer.close()
        reader.close()
