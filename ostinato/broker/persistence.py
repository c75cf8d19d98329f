"""Keeping the embedded broker's topics on disk: `ostinato local`'s durability.

The embedded broker (Tansu) keeps its topics in memory, so a stopped broker has lost them.
`ostinato local` makes its data directory the durable thing instead:

- While the stack runs, a `TopicKeeper` thread follows the topics into one append-only file
  per topic under `DATA_DIR/topics/` (`ostinato.broker.archive`), written as soon as read,
  and samples every two seconds the offsets the consumer groups of the inbox topics committed.
  A crash of the whole process tree loses at most what the keeper had not read yet.
- On the next start, before any service starts, `restore_topics` re-produces into the
  fresh broker (same partitions, keys, values, in order): the state topics whole
  (`KEPT_WHOLE`; the compacted ones compacted), and of each inbox topic (`INBOX_GROUPS`)
  the records from its group's last committed offset on: the work that was in flight,
  delivered again as Kafka would after a consumer's crash (at least once). The archive is
  then replaced by what the fresh broker holds, with its offsets.

Offsets in the fresh broker differ from the old ones (compaction, transaction markers), so
every service's local store must be rebuilt from the restored topics rather than trust the
offsets it holds (`LocalStack` discards them). `services` (heartbeats), `execution-results`
(answers to waiting callers, who are gone) and `worker-control` (kills of task runs that
are no longer running) are not kept.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from ostinato.broker.archive import KeptRecord, compacted, encode_frame, read_frames, unconsumed
from ostinato.broker.archive import rewrite as rewrite_archive
from ostinato.kafka.config import TOPIC_POLICIES, KafkaSettings
from ostinato.kafka.follower import Follower, partitions_of
from ostinato.logging import get_logger

log = get_logger(component="topic-keeper")

#: the state and history topics, restored whole (compacted ones compacted)
KEPT_WHOLE: tuple[str, ...] = (
    "flows", "executions", "executor-changelog", "scheduler-state", "flow-trigger-state",
    "admission-state", "kv", "dead-letters", "logs",
)
#: inbox topic -> the consumer group that reads it: restored from the group's commit on
INBOX_GROUPS: dict[str, str] = {
    "executor": "executor", "worker-tasks": "worker", "admissions": "admission",
    "triggers": "trigger-events", "flow-trigger-hits": "flow-trigger-owner",
}
#: groups reading a whole-kept topic: their offset is set to its restored end, so the
#: restored history is not taken for new transitions (flow triggers would re-evaluate it)
GROUPS_ON_KEPT: dict[str, str] = {"flow-triggers": "executions"}
KEPT_TOPICS: tuple[str, ...] = KEPT_WHOLE + tuple(INBOX_GROUPS)
_COMMITTED = "committed.json"
#: the keeper is off the critical path: a long fetch wait keeps an idle broker cheap, and
#: bounds what a crash can take (the embedded broker answers a fetch after about half of it)
_KEEPER_FETCH_WAIT_MS = 250
_COMMITS_EVERY_SECONDS = 2.0

Ends = dict[tuple[str, int], int]


def archive_dir(data_dir: Path) -> Path:
    """Where the kept topics are, after finishing a swap a crash may have interrupted."""
    current, previous, upcoming = (data_dir / "topics", data_dir / "topics.prev",
                                   data_dir / "topics.next")
    if not current.exists() and previous.exists():
        previous.rename(current)  # crashed between the two renames of `_swap`
    shutil.rmtree(upcoming, ignore_errors=True)  # an unfinished restore: never used
    shutil.rmtree(previous, ignore_errors=True)
    current.mkdir(parents=True, exist_ok=True)
    return current


def restore_topics(settings: KafkaSettings, data_dir: Path, *, timeout: float = 60.0) -> Ends:
    """Re-produce the kept records into the (fresh) broker and replace the archive with
    what it now holds; returns the offset after the last restored record of every
    partition that got some. Raises RuntimeError when the broker does not confirm them."""
    directory = archive_dir(data_dir)
    committed = _read_committed(directory)
    delivered: dict[str, list[KeptRecord]] = {topic: [] for topic in KEPT_TOPICS}
    errors: list[str] = []

    def on_delivery(error: Any, message: Any) -> None:
        if error is not None:
            errors.append(str(error))
            return
        topic = message.topic()[len(settings.topic_prefix):]
        delivered[topic].append(KeptRecord(message.partition(), message.offset(),
                                           message.key(), message.value()))

    producer = Producer(settings.producer(**{"enable.idempotence": True, "linger.ms": 5}))
    for topic in KEPT_TOPICS:
        for record in _to_restore(topic, list(read_frames(directory / f"{topic}.log")), committed):
            producer.produce(settings.topic(topic), key=record.key, value=record.value,
                             partition=record.partition, on_delivery=on_delivery)
            producer.poll(0)
    left = producer.flush(timeout)
    if left or errors:
        raise RuntimeError(f"restoring the kept topics failed: {left} record(s) unconfirmed, "
                           f"errors: {errors[:3]}")
    _swap(data_dir, delivered)
    ends: Ends = {}
    for topic, records in delivered.items():
        for record in records:
            ends[(topic, record.partition)] = max(ends.get((topic, record.partition), 0), record.offset + 1)
    _skip_groups_past(settings, ends)
    log.info("kept topics restored", records=sum(map(len, delivered.values())), directory=str(directory))
    return ends


def _to_restore(topic: str, records: list[KeptRecord], committed: dict[str, dict[int, int]]) -> list[KeptRecord]:
    if topic in INBOX_GROUPS:
        return unconsumed(records, committed.get(topic, {}))
    return compacted(records) if TOPIC_POLICIES[topic][0] == "compact" else records


def _swap(data_dir: Path, delivered: dict[str, list[KeptRecord]]) -> None:
    """Replace the archive by the restored records (with their new offsets) and no commits,
    as one step: build `topics.next`, then two renames (`archive_dir` finishes a half one)."""
    upcoming, current = data_dir / "topics.next", data_dir / "topics"
    upcoming.mkdir(parents=True, exist_ok=True)
    for topic, records in delivered.items():
        rewrite_archive(upcoming / f"{topic}.log", sorted(records, key=lambda r: (r.partition, r.offset)))
    _write_committed(upcoming, {})
    current.rename(data_dir / "topics.prev")
    upcoming.rename(current)
    shutil.rmtree(data_dir / "topics.prev", ignore_errors=True)


def _read_committed(directory: Path) -> dict[str, dict[int, int]]:
    try:
        raw = json.loads((directory / _COMMITTED).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {topic: {int(p): int(o) for p, o in offsets.items()} for topic, offsets in raw.items()}


def _write_committed(directory: Path, committed: dict[str, dict[int, int]]) -> None:
    temporary = directory / (_COMMITTED + ".tmp")
    temporary.write_text(json.dumps(committed))
    temporary.replace(directory / _COMMITTED)


def _skip_groups_past(settings: KafkaSettings, ends: Ends) -> None:
    """Commit, for each group reading a whole-kept topic, the restored end as its offset."""
    for group, topic in GROUPS_ON_KEPT.items():
        offsets = [TopicPartition(settings.topic(topic), partition, end)
                   for (name, partition), end in ends.items() if name == topic]
        if offsets:
            consumer = Consumer(settings.consumer(settings.group(group)))
            try:
                consumer.commit(offsets=offsets, asynchronous=False)
            finally:
                consumer.close()


class TopicKeeper:
    """A thread appending every record of the kept topics to their archive files from the
    offsets `restore_topics` returned, and recording the inbox groups' commits. `stop()`
    reads to the end first, so a clean stop loses nothing."""

    def __init__(self, settings: KafkaSettings, data_dir: Path, starts: Ends) -> None:
        self._settings = settings
        self._directory = archive_dir(data_dir)
        #: where it has read to: a keeper started again after a failure goes on from here
        self.positions: Ends = dict(starts)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="topic-keeper", daemon=True)
        self._committed: dict[str, dict[int, int]] = {}
        self.failed: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    @property
    def dead(self) -> bool:
        """True when its thread ended without being asked to (see `failed`)."""
        return not self._thread.is_alive() and not self._stopping.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        """Read what the broker has to its end (up to `timeout` s), then stop."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            follower = Follower.of_topics(self._settings, KEPT_TOPICS, self.positions,
                                          fetch_wait_ms=_KEEPER_FETCH_WAIT_MS)
            groups = _GroupOffsets(self._settings)
        except BaseException as error:  # noqa: BLE001 - reported by the stack
            self.failed = error
            log.error("topic keeper could not start", error=str(error))
            return
        files = {topic: (self._directory / f"{topic}.log").open("ab") for topic in KEPT_TOPICS}
        try:
            self._follow(follower, groups, files)
        except BaseException as error:  # noqa: BLE001 - reported by the stack
            self.failed = error
            log.error("topic keeper failed", error=str(error))
        finally:
            for out in files.values():
                out.close()
            follower.close()
            groups.close()

    def _follow(self, follower: Follower, groups: _GroupOffsets, files: dict[str, Any]) -> None:
        quiet_polls = 0  # after stop(): a few empty polls in a row mean the end is read
        sampled = time.monotonic()
        while True:
            stopping = self._stopping.is_set()
            received = follower.poll(1000, 0.3)
            quiet_polls = quiet_polls + 1 if stopping and not received else 0
            for record in received:
                key = None if record.key is None else record.key.encode()
                topic = follower.short_topic(record)
                files[topic].write(encode_frame(KeptRecord(record.partition, record.offset, key, record.value)))
                self.positions[(topic, record.partition)] = record.offset + 1
            for out in files.values():
                out.flush()  # in the OS: survives a SIGKILL of this process
            done = quiet_polls >= 3 and follower.reached_end
            if done or time.monotonic() - sampled >= _COMMITS_EVERY_SECONDS:
                self._record_commits(groups)
                sampled = time.monotonic()
            if done:
                return

    def _record_commits(self, groups: _GroupOffsets) -> None:
        try:
            committed = groups.committed()
        except KafkaException as error:  # a slow answer: the last sample stands, retried soon
            log.warning("could not read the groups' committed offsets", error=str(error))
            return
        if committed != self._committed:
            _write_committed(self._directory, committed)
            self._committed = committed


class _GroupOffsets:
    """The offsets the inbox topics' groups committed, read without joining the groups."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._partitions = {topic: partitions_of(settings, topic) for topic in INBOX_GROUPS}
        self._consumers = {topic: Consumer(settings.consumer(settings.group(group)))
                           for topic, group in INBOX_GROUPS.items()}

    def committed(self) -> dict[str, dict[int, int]]:
        offsets: dict[str, dict[int, int]] = {}
        for topic, consumer in self._consumers.items():
            asked = [TopicPartition(self._settings.topic(topic), p) for p in self._partitions[topic]]
            answer = consumer.committed(asked, timeout=5)
            offsets[topic] = {tp.partition: tp.offset for tp in answer if tp.offset >= 0}
        return offsets

    def close(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()
