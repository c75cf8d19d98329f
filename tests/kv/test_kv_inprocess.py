"""KV tasks and kv() through the decider and the in-process driver (an in-memory store on the
virtual clock). Flows from Kestra's plugin documentation (kv.Set, Get, GetKeys, Delete)."""

from __future__ import annotations

from pathlib import Path

from ostinato.inprocess import InProcessRunner
from ostinato.kv.values import typed

# Kestra's examples (kv_store_set, kv_store_get, kv_store_getkeys, kv_store_delete) in one flow
LIFECYCLE = """
id: kv_lifecycle
namespace: company.team
tasks:
  - id: kv_set
    type: io.kestra.plugin.core.kv.Set
    key: my_key
    value: '{"name": "Kestra", "count": 3}'
    kvType: JSON
  - id: kv_set_other
    type: io.kestra.plugin.core.kv.Set
    key: my_other_key
    value: "{{ 40 + 2 }}"
    kvType: NUMBER
  - id: kv_get
    type: io.kestra.plugin.core.kv.Get
    key: my_key
  - id: kv_get_keys
    type: io.kestra.plugin.core.kv.GetKeys
    prefix: my_
  - id: log_value
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('my_key').name }} x{{ kv('my_other_key') }}"
  - id: kv_delete
    type: io.kestra.plugin.core.kv.Delete
    key: my_key
  - id: kv_delete_again
    type: io.kestra.plugin.core.kv.Delete
    key: my_key
  - id: kv_get_missing
    type: io.kestra.plugin.core.kv.Get
    key: my_key
"""


def test_set_get_getkeys_kv_delete(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    run = runner.run(runner.deploy(LIFECYCLE))
    assert run.state.current == "SUCCESS"
    outputs = {r.task_id: r.outputs for r in run.task_run_list}
    assert outputs["kv_get"] == {"value": {"name": "Kestra", "count": 3}}
    assert outputs["kv_get_keys"] == {"keys": ["my_key", "my_other_key"]}
    assert outputs["kv_delete"] == {"deleted": True}
    assert outputs["kv_delete_again"] == {"deleted": False}
    assert outputs["kv_get_missing"] == {"value": None}
    assert any(line.message == "Kestra x42" for line in runner.logs_of(run.id))
    entry = runner.kv.get(None, "company.team", "my_other_key")
    assert entry is not None and (entry.type, entry.value) == ("NUMBER", 42)


TTL = """
id: kv_ttl
namespace: company.team
tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: token
    value: abc
    ttl: PT1M
  - id: before
    type: io.kestra.plugin.core.kv.Get
    key: token
  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT2M
  - id: after
    type: io.kestra.plugin.core.kv.Get
    key: token
    errorOnMissing: true
"""


def test_a_value_past_its_ttl_is_missing(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    run = runner.run(runner.deploy(TTL))
    outputs = {r.task_id: r.outputs for r in run.task_run_list}
    assert outputs["before"] == {"value": "abc"}
    assert run.state.current == "FAILED"
    assert any("No value found for key 'token' in namespace 'company.team' and `errorOnMissing` "
               "is set to true" in line.message for line in runner.logs_of(run.id))


OVERWRITE = """
id: kv_overwrite
namespace: company.team
tasks:
  - id: again
    type: io.kestra.plugin.core.kv.Set
    key: existing
    value: new
    overwrite: false
"""


def test_overwrite_false_fails_on_an_existing_key_and_keeps_it(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    runner.kv.put(None, "company.team", "existing", typed("old"))
    run = runner.run(runner.deploy(OVERWRITE))
    assert run.state.current == "FAILED"
    assert any("Key already exists and `overwrite` is set to `false`" in line.message
               for line in runner.logs_of(run.id))
    assert runner.kv.get(None, "company.team", "existing").value == "old"  # type: ignore[union-attr]


KV_IN_RUN_IF = """
id: kv_in_decider
namespace: company.team
tasks:
  - id: guarded
    type: io.kestra.plugin.core.log.Log
    runIf: "{{ kv('flag') }}"
    message: never
"""


def test_kv_in_a_decider_render_fails_saying_where_it_is_available(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    runner.kv.put(None, "company.team", "flag", typed(True))
    run = runner.run(runner.deploy(KV_IN_RUN_IF))
    assert run.state.current == "FAILED"
    text = "\n".join(line.message for line in runner.logs_of(run.id))
    text += "\n".join(str(r.outputs) for r in run.task_run_list)
    assert "kv() is only available in task properties" in text, text
