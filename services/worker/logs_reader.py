"""The worker's reader of an execution's log lines, for `log.Fetch`.

Log lines are on the `logs` topic keyed by execution id, so all of an execution's lines are
in one partition: the one the producers' partitioner (librdkafka's default,
`consistent_random`: CRC-32 of the key modulo the partition count) gives its id. The read is
bounded: it starts at the first offset written since the execution was created (found by
time; from the start of the partition when the broker cannot say) and stops at the
partition's end (the partition-EOF event, never the watermark: DESIGN.md), through the one
Follower (ostinato/kafka/follower.py).
"""

from __future__ import annotations

import time
import zlib
from datetime import datetime

from confluent_kafka import Consumer, TopicPartition

from ostinato.execution.logs import LogEntry
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.follower import Follower, partitions_of
from ostinato.logging import get_logger
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord

log = get_logger(component="worker-logs")

#: how long a read may take before the task fails rather than wait on
READ_SECONDS = 30.0
#: logs written this long before the execution's creation are still read (clock skew)
SKEW_MS = 60_000


def partition_of(key: str, count: int) -> int:
    """The partition librdkafka's default partitioner gives a non-empty `key`."""
    return (zlib.crc32(key.encode("utf-8")) & 0xFFFFFFFF) % count


class LogsReader:
    """`read(execution_id, since)`: the execution's log lines written so far, in order."""

    def __init__(self, kafka: KafkaSettings, codec: Codec) -> None:
        self.kafka = kafka
        self.codec = codec
        self._count: int | None = None

    def read(self, execution_id: str, since: datetime | None = None) -> list[LogEntry]:
        """Every line of `execution_id` in the logs topic (TimeoutError past READ_SECONDS)."""
        if self._count is None:
            self._count = len(partitions_of(self.kafka, "logs"))
        partition = partition_of(execution_id, self._count)
        follower = Follower(self.kafka, {("logs", partition): self._start(partition, since)})
        entries: list[LogEntry] = []
        deadline = time.monotonic() + READ_SECONDS
        try:
            while not follower.reached_end:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the logs of {execution_id} were not read within "
                                       f"{READ_SECONDS:.0f} s")
                for received in follower.poll(1000, 0.1):
                    if received.key != execution_id:
                        continue
                    try:
                        _, record = self.codec.decode(received.value, expected="LogEntry")
                    except MalformedRecord:
                        continue  # the API's reader dead-letters it; a fetch skips it
                    entries.append(rec.log_entry_from_record(record))
        finally:
            follower.close()
        return entries

    def _start(self, partition: int, since: datetime | None) -> int:
        """The first offset at or after `since` (less the skew), else 0."""
        if since is None:
            return 0
        consumer = Consumer(self.kafka.consumer(None))
        try:
            wanted = TopicPartition(self.kafka.topic("logs"), partition,
                                    int(since.timestamp() * 1000) - SKEW_MS)
            found = consumer.offsets_for_times([wanted], timeout=10)[0]
            return found.offset if found.offset >= 0 and found.error is None else 0
        except Exception as error:  # noqa: BLE001 - a broker without the API: read it all
            log.info("offsets by time unavailable: reading the partition from its start",
                     error=str(error))
            return 0
        finally:
            consumer.close()
