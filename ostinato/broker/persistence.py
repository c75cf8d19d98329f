"""Keeping the embedded broker's state topics on disk: `ostinato local`'s durability.

The embedded broker (Tansu) keeps its topics in memory, so a stopped broker has lost them.
`ostinato local` makes its data directory the durable thing instead:

- While the stack runs, a `TopicKeeper` thread follows the state topics (`KEPT_TOPICS`) from
  the broker into one append-only file per topic under `DATA_DIR/topics/`: each record as a
  CRC-checked frame (partition, key, value), written as soon as it is read. A crash of the
  whole process tree loses at most the records the keeper had not read yet (milliseconds);
  a frame torn by the crash fails its CRC and ends the file there.
- On the next start, before any service starts, `restore_topics` reads the files back,
  compacts the compacted topics (the last record of a key wins, a tombstone removes the
  key), re-produces the records into the fresh broker (same partitions, keys, values, in
  order), rewrites each file compacted (atomically) and returns where each partition ends
  now, so the keeper follows from there and does not archive them twice.

Inbox topics (`executor`, `worker-tasks`, `triggers`, `logs`, ...) are not kept: their
consumer groups' committed offsets die with the broker, so re-producing them would run
everything again. `services` (heartbeats) is not kept either: a heartbeat from the previous
run would be a lie. Offsets in the fresh broker differ from the old ones (transaction
markers took offsets there), which is why every service's local store must be rebuilt from
the restored topics rather than trust the offsets it holds (`LocalStack` discards them).
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from ostinato.kafka.config import TOPIC_POLICIES, KafkaSettings
from ostinato.kafka.follower import Follower
from ostinato.logging import get_logger

log = get_logger(component="topic-keeper")

#: the topics that are state (not inboxes): compacted ones and the append-only history
KEPT_TOPICS: tuple[str, ...] = (
    "flows", "executions", "executor-changelog", "scheduler-state", "flow-trigger-state",
    "admission-state", "kv", "dead-letters",
)
#: consumer groups that read a kept topic: their offsets are set to the restored end, so
#: a restore is not taken for new transitions (flow triggers would re-evaluate history)
GROUPS_ON_KEPT: dict[str, str] = {"flow-triggers": "executions"}

_HEADER = struct.Struct(">IiII")  # crc32, partition, key length (or -1), value length (or -1)
_NONE = 0xFFFFFFFF


@dataclass(frozen=True)
class KeptRecord:
    partition: int
    key: bytes | None
    value: bytes | None


def encode_frame(record: KeptRecord) -> bytes:
    """One record as a self-checking frame (its CRC covers everything after it)."""
    key, value = record.key, record.value
    body = struct.pack(">iII", record.partition, _NONE if key is None else len(key),
                       _NONE if value is None else len(value)) + (key or b"") + (value or b"")
    return struct.pack(">I", zlib.crc32(body)) + body


def read_frames(path: Path) -> Iterator[KeptRecord]:
    """The records of one archive file, in order; stops at the first torn or corrupt frame
    (the tail a crash may leave), logging it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    at = 0
    while at + _HEADER.size <= len(data):
        crc, partition, key_len, value_len = _HEADER.unpack_from(data, at)
        sizes = (0 if key_len == _NONE else key_len) + (0 if value_len == _NONE else value_len)
        end = at + _HEADER.size + sizes
        if end > len(data) or zlib.crc32(data[at + 4:end]) != crc:
            break
        start = at + _HEADER.size
        key = None if key_len == _NONE else data[start:start + key_len]
        start += 0 if key_len == _NONE else key_len
        value = None if value_len == _NONE else data[start:end]
        yield KeptRecord(partition, key, value)
        at = end
    if at < len(data):
        log.warning("archive ends with a torn record, ignored", file=str(path), bytes=len(data) - at)


def compacted(topic: str, records: list[KeptRecord]) -> list[KeptRecord]:
    """What a compacted topic keeps: the last record of each (partition, key), in the order
    those last records came, without tombstones. Other topics are kept whole."""
    if TOPIC_POLICIES[topic][0] != "compact":
        return records
    last: dict[tuple[int, bytes | None], tuple[int, KeptRecord]] = {}
    for index, record in enumerate(records):
        last[(record.partition, record.key)] = (index, record)
    return [record for _, record in sorted(last.values(), key=lambda pair: pair[0])
            if record.value is not None]


def archive_dir(data_dir: Path) -> Path:
    return data_dir / "topics"


def restore_topics(settings: KafkaSettings, data_dir: Path, *,
                   timeout: float = 60.0) -> dict[tuple[str, int], int]:
    """Re-produce the archived records into the (fresh) broker and rewrite each archive
    compacted; returns the offset after the last restored record of every partition that
    got some. Raises RuntimeError when the broker does not confirm them in time."""
    directory = archive_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ends: dict[tuple[str, int], int] = {}
    errors: list[str] = []

    def delivered(error: object, message: object) -> None:
        if error is not None:
            errors.append(str(error))
            return
        topic = message.topic()[len(settings.topic_prefix):]  # type: ignore[attr-defined]
        position = (topic, message.partition())  # type: ignore[attr-defined]
        ends[position] = max(ends.get(position, 0), message.offset() + 1)  # type: ignore[attr-defined]

    producer = Producer(settings.producer(**{"enable.idempotence": True, "linger.ms": 5}))
    total = 0
    for topic in KEPT_TOPICS:
        records = compacted(topic, list(read_frames(directory / f"{topic}.log")))
        for record in records:
            producer.produce(settings.topic(topic), key=record.key, value=record.value,
                             partition=record.partition, on_delivery=delivered)
            producer.poll(0)
        _rewrite(directory / f"{topic}.log", records)
        total += len(records)
    left = producer.flush(timeout)
    if left or errors:
        raise RuntimeError(f"restoring the kept topics failed: {left} record(s) unconfirmed, "
                           f"errors: {errors[:3]}")
    _skip_groups_past(settings, ends)
    log.info("kept topics restored", records=total, directory=str(directory))
    return ends


def _rewrite(path: Path, records: list[KeptRecord]) -> None:
    """Replace the archive with `records`, atomically (a crash leaves the old or the new)."""
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as out:
        for record in records:
            out.write(encode_frame(record))
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


def _skip_groups_past(settings: KafkaSettings, ends: dict[tuple[str, int], int]) -> None:
    """Commit, for each group reading a kept topic, the restored end as its offset."""
    for group, topic in GROUPS_ON_KEPT.items():
        offsets = [TopicPartition(settings.topic(topic), partition, end)
                   for (name, partition), end in ends.items() if name == topic]
        if not offsets:
            continue
        consumer = Consumer(settings.consumer(settings.group(group)))
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        finally:
            consumer.close()


class TopicKeeper:
    """A thread appending every record of the kept topics to their archive files, from the
    offsets `restore_topics` returned. `stop()` reads to the end first, so a clean stop
    loses nothing."""

    def __init__(self, settings: KafkaSettings, data_dir: Path,
                 starts: dict[tuple[str, int], int]) -> None:
        self._settings = settings
        self._directory = archive_dir(data_dir)
        self._starts = starts
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="topic-keeper", daemon=True)
        self.failed: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Read what the broker has to its end (up to `timeout` s), then stop."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            follower = Follower.of_topics(self._settings, KEPT_TOPICS, self._starts)
        except BaseException as error:  # noqa: BLE001 - reported by the stack
            self.failed = error
            return
        files = {topic: (self._directory / f"{topic}.log").open("ab") for topic in KEPT_TOPICS}
        try:
            quiet_polls = 0  # after stop(): a few empty polls in a row mean the end is read
            while True:
                stopping = self._stopping.is_set()
                received = follower.poll(1000, 0.1)
                quiet_polls = quiet_polls + 1 if stopping and not received else 0
                for record in received:
                    topic = follower.short_topic(record)
                    key = None if record.key is None else record.key.encode()
                    files[topic].write(encode_frame(KeptRecord(record.partition, key, record.value)))
                for out in files.values():
                    out.flush()  # in the OS: survives a SIGKILL of this process
                if quiet_polls >= 3 and follower.reached_end:
                    return
        except BaseException as error:  # noqa: BLE001 - reported by the stack
            self.failed = error
            log.error("topic keeper failed", error=str(error))
        finally:
            for out in files.values():
                out.close()
            follower.close()
