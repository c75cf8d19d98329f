"""A large execution through the API: written as parts on `executions` (schemas/README.md,
"Large executions"), read back whole, and deleted with every part."""

from __future__ import annotations

from ostinato.kafka.follower import Follower
from ostinato.wire import records as rec
from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, state_is, wait_execution, wait_until

VALUES = 600  # 601 task runs: three parts


def test_a_large_execution_reads_whole_and_deletes_with_its_parts(api: ApiServer) -> None:
    deploy(api, f"""
id: large
namespace: tests.large
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: {list(range(VALUES))}
    concurrencyLimit: 0
    tasks:
      - id: small
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
""")
    created = api.http.post(api.url("/executions/tests.large/large"))
    assert created.status_code == 200, created.text
    execution_id = created.json()["id"]
    done = wait_execution(api, execution_id, state_is("SUCCESS"), what="the large execution", timeout=120)
    runs = done["taskRunList"]
    assert len(runs) == VALUES + 1
    assert sorted(int(r["value"]) for r in runs if r["taskId"] == "small") == list(range(VALUES))
    count = rec.part_count(len(runs))
    assert count > 1
    assert api.http.delete(api.url(f"/executions/{execution_id}")).status_code == 204
    assert api.http.get(api.url(f"/executions/{execution_id}")).status_code == 404
    part_keys = {rec.part_key(execution_id, part, count) for part in range(count)}
    wait_until(lambda: part_keys <= tombstoned(api, execution_id), what="a tombstone for every part")


def tombstoned(api: ApiServer, execution_id: str) -> set[str]:
    """The keys of the execution's tombstones on `executions`."""
    follower = Follower.of_topics(api.stack.settings(), ["executions"])
    keys: set[str] = set()
    try:
        while not follower.reached_end:
            keys |= {r.key or "" for r in follower.poll(1000, 0.2)
                     if r.value is None and rec.execution_id_of_key(r.key) == execution_id}
    finally:
        follower.close()
    return keys
