"""Topic creation that tolerates races: `ensure_topics(bootstrap_servers, specs)`.

Every service calls it at start with the topics it needs; several may do so at once, so a
topic that another process created between our metadata read and our CreateTopics request
("already exists") is success, not an error. It returns once every topic is in the metadata
with at least its partitions, each with a leader.

What the embedded broker (Tansu 0.6.0-510f3e2) does with topics, measured:

- **Partition counts are honoured**: a topic created with N partitions has N in metadata at
  once, each led by the single broker (node 111). A CreateTopics without a count gives 3.
- **Topic configs are stored, not enforced.** `cleanup.policy` and `retention.ms` come back
  unchanged from DescribeConfigs, but nothing is compacted or expired: 2,001 records of one
  key (the last a tombstone) on a `compact` topic are all still read back from offset 0.
  (Kafka never compacts the active segment either, so a reader must always tolerate several
  records per key; with Tansu it also gets every one since the topic was created.) Restoring
  a store from a compacted topic on the embedded broker therefore reads its whole history:
  keep snapshot records small and the embedded runs short-lived. Storage is memory only.
- A second CreateTopics for an existing name fails with TOPIC_ALREADY_EXISTS (tolerated here).
- Replication factor -1 (the broker's default) is accepted; it is what we ask for unless told.
- **Producing to an unknown topic auto-creates it** (3+ partitions): a mistyped topic name
  does not fail, it silently writes elsewhere. Services should produce only to names they
  ensured, built from one place.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

__all__ = ["TopicSetupError", "TopicSpec", "ensure_topics"]


@dataclass(frozen=True)
class TopicSpec:
    """A topic a service needs: name, partition count, compacted or not, retention."""

    name: str
    partitions: int
    compact: bool
    retention_ms: int | None = None

    def config(self) -> dict[str, str]:
        cfg = {"cleanup.policy": "compact" if self.compact else "delete"}
        if self.retention_ms is not None:
            cfg["retention.ms"] = str(self.retention_ms)
        return cfg


class TopicSetupError(RuntimeError):
    """A topic could not be created, or was not visible with its partitions in time."""


def ensure_topics(
    bootstrap_servers: str,
    specs: Iterable[TopicSpec],
    *,
    client_config: Mapping[str, str | int | float | bool] | None = None,
    timeout: float = 30.0,
    replication_factor: int = -1,
) -> None:
    """Create the missing topics among `specs` and wait until all are in the metadata.

    `client_config` carries the usual client settings (security.protocol, sasl.*, ...);
    `bootstrap.servers` comes from the first argument. An existing topic keeps its
    configuration (nothing is altered); one with fewer partitions than asked is an error,
    since keys would map to other partitions than the services expect. More is accepted.
    """
    wanted: dict[str, TopicSpec] = {}
    for spec in specs:
        if spec.partitions < 1:
            raise ValueError(f"topic {spec.name!r}: partitions must be at least 1, not {spec.partitions}")
        if spec.name in wanted and wanted[spec.name] != spec:
            raise ValueError(f"topic {spec.name!r} is asked for twice, differently: {wanted[spec.name]} and {spec}")
        wanted[spec.name] = spec
    if not wanted:
        return
    deadline = time.monotonic() + timeout
    config: dict[str, str | int | float | bool] = dict(client_config or {})
    config["bootstrap.servers"] = bootstrap_servers
    admin = AdminClient(config)

    existing = _partitions(admin, deadline)
    for name, (count, _led) in existing.items():
        asked = wanted.get(name)
        if asked is not None and count < asked.partitions:
            raise TopicSetupError(
                f"topic {name!r} exists with {count} partitions, fewer than the {asked.partitions} asked for"
            )

    missing = [spec for name, spec in wanted.items() if name not in existing]
    if missing:
        op_timeout = max(1.0, deadline - time.monotonic())
        futures = admin.create_topics(
            [NewTopic(s.name, s.partitions, replication_factor, config=s.config()) for s in missing],
            operation_timeout=op_timeout,
            request_timeout=op_timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=max(0.1, deadline - time.monotonic()))
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue  # another process won the race
                raise TopicSetupError(f"could not create topic {name!r}: {exc}") from exc
            except TimeoutError as exc:  # concurrent.futures.TimeoutError is TimeoutError on 3.11+
                raise TopicSetupError(f"creating topic {name!r} did not finish within {timeout} s") from exc

    # Wait for every topic to be visible with its partitions (metadata may lag creation).
    while True:
        led = {n: c[1] for n, c in _partitions(admin, deadline).items()}
        short = {n: led.get(n, 0) for n, s in wanted.items() if led.get(n, 0) < s.partitions}
        if not short:
            return
        if time.monotonic() >= deadline:
            detail = ", ".join(f"{n} ({c} of {wanted[n].partitions} partitions)" for n, c in sorted(short.items()))
            raise TopicSetupError(f"topics not visible in metadata after {timeout} s: {detail}")
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def _partitions(admin: AdminClient, deadline: float) -> dict[str, tuple[int, int]]:
    """Topic name -> (partitions, partitions with a leader), from one metadata request."""
    remaining = deadline - time.monotonic()
    try:
        md = admin.list_topics(timeout=max(0.5, remaining))
    except KafkaException as exc:
        raise TopicSetupError(f"no metadata from the cluster: {exc}") from exc
    counts: dict[str, tuple[int, int]] = {}
    for name, topic in md.topics.items():
        if topic.error is not None:
            continue
        parts = topic.partitions.values()
        counts[name] = (len(parts), sum(1 for p in parts if p.leader >= 0 and p.error is None))
    return counts
