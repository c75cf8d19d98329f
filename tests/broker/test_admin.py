"""ensure_topics against the embedded broker: creation, configs, idempotence, races."""

from __future__ import annotations

import threading

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from ostinato.broker import TopicSetupError, TopicSpec, ensure_topics
from ostinato.broker.testing import broker_for_tests, unique_name


def partitions(bootstrap: str) -> dict[str, int]:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=5)
    return {name: len(t.partitions) for name, t in md.topics.items()}


def configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.describe_configs([ConfigResource("topic", topic)])
    entries = next(iter(future.values())).result(timeout=5)
    return {k: v.value for k, v in entries.items()}


def specs() -> list[TopicSpec]:
    return [
        TopicSpec(unique_name("executions"), 4, compact=True),
        TopicSpec(unique_name("logs"), 2, compact=False, retention_ms=3_600_000),
    ]


def test_creates_topics_with_partitions_and_configs() -> None:
    bootstrap = broker_for_tests().bootstrap_servers
    compacted, deleted = specs()
    ensure_topics(bootstrap, [compacted, deleted])
    seen = partitions(bootstrap)
    assert seen[compacted.name] == 4 and seen[deleted.name] == 2
    assert configs(bootstrap, compacted.name)["cleanup.policy"] == "compact"
    logs = configs(bootstrap, deleted.name)
    assert logs["cleanup.policy"] == "delete" and logs["retention.ms"] == "3600000"


def test_is_idempotent() -> None:
    bootstrap = broker_for_tests().bootstrap_servers
    wanted = specs()
    ensure_topics(bootstrap, wanted)
    ensure_topics(bootstrap, wanted)
    ensure_topics(bootstrap, wanted[:1])
    seen = partitions(bootstrap)
    assert [seen[s.name] for s in wanted] == [4, 2]


@pytest.mark.parametrize("round_", range(3))
def test_two_threads_racing(round_: int) -> None:
    bootstrap = broker_for_tests().bootstrap_servers
    wanted = specs()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            ensure_topics(bootstrap, wanted, timeout=20)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    seen = partitions(bootstrap)
    assert [seen[s.name] for s in wanted] == [4, 2]


def test_an_existing_topic_with_fewer_partitions_is_an_error() -> None:
    bootstrap = broker_for_tests().bootstrap_servers
    name = unique_name("small")
    ensure_topics(bootstrap, [TopicSpec(name, 1, compact=False)])
    with pytest.raises(TopicSetupError, match=r"exists with 1 partitions, fewer than the 3"):
        ensure_topics(bootstrap, [TopicSpec(name, 3, compact=False)])
    ensure_topics(bootstrap, [TopicSpec(name, 1, compact=False)])  # as it is: fine


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ensure_topics("127.0.0.1:1", [TopicSpec("x", 0, compact=False)])
    with pytest.raises(ValueError, match="asked for twice"):
        ensure_topics("127.0.0.1:1", [TopicSpec("x", 1, compact=False), TopicSpec("x", 2, compact=False)])


def test_no_broker_gives_a_clear_error() -> None:
    from ostinato.broker import free_port

    with pytest.raises(TopicSetupError, match="no metadata"):
        ensure_topics(f"127.0.0.1:{free_port()}", [TopicSpec("x", 1, compact=False)], timeout=1.0)
