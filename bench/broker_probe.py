"""Probe the embedded broker (Tansu) with confluent-kafka and print what it does.

    .venv/bin/python bench/broker_probe.py                              # embedded broker
    .venv/bin/python bench/broker_probe.py --bootstrap-servers H:P      # any other cluster

It measures what the services' design leans on: produce->consume latency, consumer group
join time, end-of-partition detection (watermarks vs the partition-EOF event),
transactions and read_committed, committed offsets and auto.offset.reset, idempotent
produce, and batch throughput. Every step has its own deadline and a step that fails
prints its error and the probe goes on; the whole run stays under 90 s. It asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from ostinato.broker import EmbeddedBroker, TopicSpec, ensure_topics

Row = tuple[str, str, str]  # what, measured, DESIGN.md / expectation
ROWS: list[Row] = []
BS = ""
PID: int | None = None  # the embedded broker's process id


def row(what: str, measured: str, expected: str = "") -> None:
    ROWS.append((what, measured, expected))
    print(f"  {what}: {measured}", flush=True)


def name(prefix: str) -> str:
    return f"probe.{prefix}.{uuid.uuid4().hex[:8]}"


def topic(prefix: str, partitions: int = 1) -> str:
    t = name(prefix)
    ensure_topics(BS, [TopicSpec(t, partitions, compact=False)], timeout=10)
    return t


def producer(**extra: Any) -> Producer:
    return Producer({"bootstrap.servers": BS, "linger.ms": 0, **extra})


def consumer(group: str | None = None, /, **extra: Any) -> Consumer:
    cfg: dict[str, Any] = {
        "bootstrap.servers": BS,
        "group.id": group or name("g"),
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 10,
    }
    cfg.update(extra)
    return Consumer(cfg)


def drain(
    c: Consumer, *, deadline: float, until_eof: bool = True, want: int | None = None
) -> tuple[list[Message], int | None]:
    """Read records until partition EOF (needs enable.partition.eof) or `want` records."""
    got: list[Message] = []
    eof_at: int | None = None
    while time.monotonic() < deadline:
        m = c.poll(0.1)
        if m is None:
            continue
        err = m.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                eof_at = m.offset()
                if until_eof:
                    break
                continue
            raise RuntimeError(str(err))
        got.append(m)
        if want is not None and len(got) >= want:
            break
    return got, eof_at


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


# -- 1. round trip --------------------------------------------------------------------------


def round_trip(n: int, fetch_wait_ms: int) -> list[float]:
    t = topic("rtt")
    p = producer()
    c = consumer(**{"fetch.wait.max.ms": fetch_wait_ms})
    c.assign([TopicPartition(t, 0, 0)])
    lat: list[float] = []
    deadline = time.monotonic() + 25
    for i in range(n + 20):  # the first 20 are warm-up
        if time.monotonic() > deadline:
            break
        payload = str(i).encode()
        t0 = time.perf_counter()
        p.produce(t, payload, partition=0)
        p.poll(0)
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            p.poll(0)
            if m is not None and m.error() is None and m.value() == payload:
                break
        if i >= 20:
            lat.append((time.perf_counter() - t0) * 1000)
    c.close()
    p.flush(5)
    return lat


def probe_round_trip() -> None:
    for wait_ms, n in ((10, 500), (1, 500), (100, 60)):
        lat = round_trip(n, wait_ms)
        row(
            f"1. produce->consume round trip, {n} msgs (linger.ms 0, fetch.wait.max.ms {wait_ms})",
            f"median {statistics.median(lat):.2f} ms, p99 {pct(lat, 0.99):.2f} ms, max {max(lat):.1f} ms (n={len(lat)})",
            "about 4 ms" if wait_ms == 10 else "",
        )
    t = topic("ack")
    p = producer()
    acks = []
    for i in range(300):
        t0 = time.perf_counter()
        p.produce(t, b"x", partition=0)
        p.flush(5)
        acks.append((time.perf_counter() - t0) * 1000)
    row(
        "1a. produce -> ack (produce + flush), 300 in sequence",
        f"median {statistics.median(acks):.3f} ms, p99 {pct(acks, 0.99):.3f} ms",
        "",
    )
    # fetch.wait.max.ms 0: does the broker answer a fetch that must not wait?
    t = topic("rtt0")
    p = producer()
    for i in range(10):
        p.produce(t, str(i).encode(), partition=0)
    p.flush(5)
    c = consumer(**{"fetch.wait.max.ms": 0})
    c.assign([TopicPartition(t, 0, 0)])
    got, _ = drain(c, deadline=time.monotonic() + 3, until_eof=False, want=10)
    c.close()
    row("1b. fetch.wait.max.ms 0, 10 records waiting", f"{len(got)} of 10 read in 3 s", "10")


def probe_idle_cpu() -> None:
    """Broker CPU while 4 consumers wait on an idle partition, by fetch.wait.max.ms."""
    import os

    if not PID:
        return

    def cpu_s() -> float:
        with open(f"/proc/{PID}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    t = topic("idle")
    parts = []
    for wait_ms in (1, 10, 100):
        cs = [consumer(**{"fetch.wait.max.ms": wait_ms}) for _ in range(4)]
        for c in cs:
            c.assign([TopicPartition(t, 0, 0)])
            c.poll(0.05)
        c0, t0 = cpu_s(), time.monotonic()
        while time.monotonic() - t0 < 1.5:
            for c in cs:
                c.poll(0.02)
        parts.append(f"{wait_ms} ms: {100 * (cpu_s() - c0) / (time.monotonic() - t0):.1f}%")
        for c in cs:
            c.close()
    row("1c. broker CPU (of one core), 4 idle consumers, by fetch.wait.max.ms", "; ".join(parts), "")


# -- 2. group join --------------------------------------------------------------------------


def probe_join(session_ms: int) -> None:
    t = topic("join")
    p = producer()
    for i in range(3):
        p.produce(t, str(i).encode(), partition=0)
    p.flush(5)
    group = name("join")
    assigned_at: list[float] = []
    c = consumer(
        group,
        **{"session.timeout.ms": session_ms, "heartbeat.interval.ms": max(500, session_ms // 3)},
    )
    t0 = time.monotonic()
    c.subscribe([t], on_assign=lambda _c, parts: assigned_at.append(time.monotonic()))
    first: Message | None = None
    deadline = t0 + 20
    while time.monotonic() < deadline:
        m = c.poll(0.05)
        if m is not None and m.error() is None:
            first = m
            break
    t_first = time.monotonic()
    if first is None:
        row(f"2. group join, session.timeout.ms {session_ms}", "no record within 20 s")
        c.close()
        return
    c.commit(message=first, asynchronous=False)
    t1 = time.monotonic()
    c.close()
    close_s = time.monotonic() - t1
    check = consumer(group)
    committed = check.committed([TopicPartition(t, 0)], timeout=5)[0].offset
    check.close()
    expected = {6000: "3.5 s", 3000: "2.5 s"}.get(session_ms, "")
    row(
        f"2. group join, session.timeout.ms {session_ms} (subscribe -> assigned)",
        f"{assigned_at[0] - t0:.2f} s; first record {t_first - t0:.2f} s at offset {first.offset()}"
        f" (earliest); commit via group then committed() = {committed}; close {close_s:.2f} s",
        expected,
    )


def probe_rebalance(strategy: str, session_ms: int = 3000) -> None:
    """A second member joins a group of one, then leaves (close): when do the partitions move,
    and how long does the first member hold no partition at all (a stall)?"""
    t = topic("rebal", partitions=2)
    group = name("rebal")
    cfg = {
        "session.timeout.ms": session_ms,
        "heartbeat.interval.ms": session_ms // 3,
        "partition.assignment.strategy": strategy,
    }
    owned: dict[str, set[int]] = {"a": set(), "b": set()}
    stall = {"since": None, "total": 0.0}

    def note_a() -> None:
        if not owned["a"] and stall["since"] is None:
            stall["since"] = time.monotonic()
        elif owned["a"] and stall["since"] is not None:
            stall["total"] += time.monotonic() - stall["since"]  # type: ignore[operator]
            stall["since"] = None

    def tracker(who: str) -> dict[str, Any]:
        def on_assign(_c: Consumer, parts: list[TopicPartition]) -> None:
            owned[who] |= {p.partition for p in parts}
            if who == "a":
                note_a()

        def on_revoke(_c: Consumer, parts: list[TopicPartition]) -> None:
            owned[who] -= {p.partition for p in parts}
            if who == "a":
                note_a()

        return {"on_assign": on_assign, "on_revoke": on_revoke}

    def poll_until(members: list[Consumer], cond: Callable[[], bool], limit: float) -> float | None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            for m in members:
                m.poll(0.02)
            if cond():
                return time.monotonic() - t0
        return None

    a = consumer(group, **cfg)
    a.subscribe([t], **tracker("a"))
    joined = poll_until([a], lambda: owned["a"] == {0, 1}, 15)
    stall["total"], stall["since"] = 0.0, None
    b = consumer(group, **cfg)
    b.subscribe([t], **tracker("b"))
    split = poll_until([a, b], lambda: len(owned["a"]) == 1 and len(owned["b"]) == 1, 20)
    b.close()
    owned["b"] = set()
    back = poll_until([a], lambda: owned["a"] == {0, 1}, 20)
    a.close()

    def fmt(x: float | None) -> str:
        return f"{x:.2f} s" if x is not None else "not within the limit"

    row(
        f"2b. {strategy}, 2 partitions, session {session_ms} ms: 2nd member joins, then closes",
        f"1st alone {fmt(joined)}; split 1+1 after {fmt(split)}; back to the 1st after close {fmt(back)}; "
        f"1st held no partition for {stall['total']:.2f} s in all",
        "",
    )


# -- 3. watermarks and partition EOF -------------------------------------------------------


def probe_watermarks() -> None:
    t = topic("wm")
    p = Producer({"bootstrap.servers": BS, "linger.ms": 1000, "batch.num.messages": 1000})
    for i in range(100):
        p.produce(t, str(i).encode(), partition=0)
    p.flush(10)
    c = consumer(**{"enable.partition.eof": True})
    lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=5)
    admin = AdminClient({"bootstrap.servers": BS})
    tp = TopicPartition(t, 0)
    latest = admin.list_offsets({tp: OffsetSpec.latest()}, request_timeout=5)[tp].result().offset
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    got, eof_at = drain(c, deadline=time.monotonic() + 10)
    cached = c.get_watermark_offsets(TopicPartition(t, 0), cached=True)
    # A second batch: does EOF fire again at the new end?
    for i in range(100, 150):
        p.produce(t, str(i).encode(), partition=0)
    p.flush(10)
    got2, eof2 = drain(c, deadline=time.monotonic() + 10)
    c.close()
    row(
        "3. 100 records in one batch: get_watermark_offsets / list_offsets(latest)",
        f"low {lo}, high {hi}; list_offsets latest {latest}; cached high after a fetch {cached[1]}",
        "high watermark wrongly 1",
    )
    row(
        "3b. enable.partition.eof from offset 0",
        f"{len(got)} records then EOF at {eof_at}; 50 more in a 2nd batch: {len(got2)} then EOF at {eof2}",
        "EOF right (at 100)",
    )


# -- 4. transactions ------------------------------------------------------------------------


def probe_transactions() -> None:
    t = topic("txn")
    p = Producer({"bootstrap.servers": BS, "transactional.id": name("tx"), "linger.ms": 0})
    t0 = time.monotonic()
    try:
        p.init_transactions(10)
    except Exception as exc:  # noqa: BLE001
        row("4. transactions", f"init_transactions failed: {exc}", "")
        return
    init_s = time.monotonic() - t0
    steps = []
    try:
        p.begin_transaction()
        for i in range(5):
            p.produce(t, f"committed-{i}".encode(), partition=0)
        p.commit_transaction(10)
        steps.append("commit ok")
        p.begin_transaction()
        for i in range(5):
            p.produce(t, f"aborted-{i}".encode(), partition=0)
        p.flush(10)  # the aborted records reach the log before the abort
        p.abort_transaction(10)
        steps.append("abort ok")
        p.begin_transaction()
        p.produce(t, b"committed-5", partition=0)
        p.commit_transaction(10)
    except Exception as exc:  # noqa: BLE001
        row("4. transactions", f"{', '.join(steps)}; then failed: {exc}")
        return

    def read(isolation: str) -> tuple[list[str], int | None]:
        c = consumer(**{"enable.partition.eof": True, "isolation.level": isolation})
        c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
        got, eof = drain(c, deadline=time.monotonic() + 10)
        c.close()
        return [m.value().decode() for m in got], eof  # type: ignore[union-attr]

    rc, eof_rc = read("read_committed")
    ru, eof_ru = read("read_uncommitted")
    aborted_seen = sum(v.startswith("aborted") for v in rc)
    row(
        "4. transactions: init / begin / produce / commit / abort",
        f"work (init {init_s:.2f} s); records at offsets 0..{eof_ru} incl. markers",
        "",
    )
    row(
        "4b. read_committed after commit(5), abort(5), commit(1)",
        f"{len(rc)} records, {aborted_seen} of them aborted (read_uncommitted: {len(ru)}); EOF at {eof_rc}",
        "aborted NOT filtered",
    )

    # Offsets committed inside a transaction (consume-transform-produce).
    group = name("txg")
    gc = consumer(group)
    try:
        p.begin_transaction()
        p.produce(t, b"committed-6", partition=0)
        p.send_offsets_to_transaction([TopicPartition(t, 0, 3)], gc.consumer_group_metadata(), 10)
        p.commit_transaction(10)
        got = gc.committed([TopicPartition(t, 0)], timeout=5)[0].offset
        row("4c. send_offsets_to_transaction(offset 3), commit, then committed()", f"{got}", "3")
        p.begin_transaction()
        p.produce(t, b"aborted-6", partition=0)
        p.send_offsets_to_transaction([TopicPartition(t, 0, 7)], gc.consumer_group_metadata(), 10)
        p.abort_transaction(10)
        got = gc.committed([TopicPartition(t, 0)], timeout=5)[0].offset
        row("4d. then send_offsets_to_transaction(offset 7), abort, committed()", f"{got}", "3 (abort drops it)")
    except Exception as exc:  # noqa: BLE001
        row("4c. send_offsets_to_transaction", f"failed: {exc}", "")
    finally:
        gc.close()


# -- 5. committed offsets and auto.offset.reset ---------------------------------------------


def probe_offsets() -> None:
    t = topic("off")
    p = Producer({"bootstrap.servers": BS, "linger.ms": 100})
    for i in range(10):
        p.produce(t, str(i).encode(), partition=0)
    p.flush(10)
    group = name("off")
    c = consumer(group)
    c.assign([TopicPartition(t, 0)])  # no offset: committed, else auto.offset.reset
    got, _ = drain(c, deadline=time.monotonic() + 10, until_eof=False, want=4)
    first_new = got[0].offset() if got else None
    c.commit(offsets=[TopicPartition(t, 0, 4)], asynchronous=False)
    c.close()
    c2 = consumer(group)
    committed = c2.committed([TopicPartition(t, 0)], timeout=5)[0].offset
    c2.assign([TopicPartition(t, 0)])
    got2, _ = drain(c2, deadline=time.monotonic() + 10, until_eof=False, want=1)
    c2.close()
    row(
        "5. new group, auto.offset.reset=earliest (assign, no offset)",
        f"first offset read {first_new}",
        "0",
    )
    row(
        "5b. commit offset 4, close, new consumer of the group",
        f"committed() = {committed}; resumes at offset {got2[0].offset() if got2 else None}",
        "4 and 4",
    )
    # A new group with auto.offset.reset=latest resolves "latest" with ListOffsets.
    c3 = consumer(**{"auto.offset.reset": "latest"})
    c3.assign([TopicPartition(t, 0)])
    got3, _ = drain(c3, deadline=time.monotonic() + 1.5, until_eof=False, want=1)
    p.produce(t, b"new", partition=0)
    p.flush(5)
    if not got3:
        got3, _ = drain(c3, deadline=time.monotonic() + 5, until_eof=False, want=1)
    c3.close()
    firsts = []
    for off in (0, OFFSET_BEGINNING):
        c4 = consumer()
        t0 = time.monotonic()
        c4.assign([TopicPartition(t, 0, off)])
        got4, _ = drain(c4, deadline=t0 + 5, until_eof=False, want=1)
        firsts.append(f"{(time.monotonic() - t0) * 1000:.0f} ms" if got4 else "none in 5 s")
        c4.close()
    row(
        "5c. new group, auto.offset.reset=latest, 10 records there, then 1 produced",
        f"first offset read {got3[0].offset() if got3 else None}",
        "10 (only the new record)",
    )
    row(
        "5d. fresh consumer: assign at offset 0 vs at OFFSET_BEGINNING, first record after",
        f"{firsts[0]} vs {firsts[1]}",
        "",
    )


# -- 6. idempotent producer -----------------------------------------------------------------


def probe_idempotence() -> None:
    t = topic("idem")
    errors: list[str] = []

    def on_delivery(err: KafkaError | None, _m: Message) -> None:
        if err is not None:
            errors.append(str(err))

    p = Producer({"bootstrap.servers": BS, "enable.idempotence": True, "linger.ms": 5})
    t0 = time.monotonic()
    p.produce(t, b"0", partition=0, on_delivery=on_delivery)
    p.flush(10)
    first_ack = time.monotonic() - t0
    t1 = time.monotonic()
    for i in range(1, 1000):
        p.produce(t, str(i).encode(), partition=0, on_delivery=on_delivery)
        p.poll(0)
    left = p.flush(15)
    rest_s = time.monotonic() - t1
    c = consumer(**{"enable.partition.eof": True})
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    got, eof = drain(c, deadline=time.monotonic() + 10)
    c.close()
    values = [int(m.value()) for m in got]  # type: ignore[arg-type]
    offsets = [m.offset() for m in got]
    ok = values == list(range(1000)) and offsets == list(range(1000))
    row(
        "6. enable.idempotence=true, 1000 records",
        f"{'works' if ok and not errors and not left else 'PROBLEM'}: {len(errors)} delivery errors, "
        f"{len(got)} read back, in order {values == sorted(values)}, {len(values) - len(set(values))} dups, "
        f"EOF at {eof}; first ack {first_ack * 1000:.0f} ms, the other 999 in {rest_s * 1000:.0f} ms"
        + (f"; first error: {errors[0]}" if errors else ""),
        "",
    )


# -- 7. batch throughput --------------------------------------------------------------------


def probe_batch(n: int = 10_000) -> None:
    t = topic("batch")
    p = Producer({"bootstrap.servers": BS, "linger.ms": 5, "queue.buffering.max.messages": 200_000})
    payload = b"x" * 100
    t0 = time.perf_counter()
    for i in range(n):
        while True:
            try:
                p.produce(t, payload, key=str(i).encode(), partition=0)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    left = p.flush(30)
    t_prod = time.perf_counter() - t0
    c = consumer(**{"enable.partition.eof": True})
    c.assign([TopicPartition(t, 0, 0)])  # an explicit offset: see 5d
    t1 = time.perf_counter()
    n_read = 0
    eof_at = None
    t_cons = t_eof = float("nan")
    deadline = time.monotonic() + 30
    while (n_read < n or eof_at is None) and time.monotonic() < deadline:
        for m in c.consume(1000, 0.005):
            err = m.error()
            if err is None:
                n_read += 1
                if n_read == n:
                    t_cons = time.perf_counter() - t1
            elif err.code() == KafkaError._PARTITION_EOF and n_read >= n:
                eof_at = m.offset()
                t_eof = time.perf_counter() - t1
    lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=5)
    c.close()
    row(
        f"7. {n:,} x 100 B records, 1 partition (linger 5 ms)",
        f"produce+flush {n / t_prod:,.0f} msg/s ({t_prod:.2f} s, {left} unflushed); "
        f"consume {n_read / t_cons:,.0f} msg/s ({n_read} in {t_cons * 1000:.0f} ms from assign, "
        f"EOF at {eof_at} after {t_eof * 1000:.0f} ms); watermarks after: ({lo}, {hi})",
        "",
    )


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    global BS, PID
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap-servers", help="probe this cluster instead of an embedded broker")
    args = ap.parse_args()
    started = time.monotonic()
    broker: EmbeddedBroker | None = None
    if args.bootstrap_servers:
        BS = args.bootstrap_servers
        label = BS
    else:
        broker = EmbeddedBroker()
        t0 = time.monotonic()
        broker.start()
        BS = broker.bootstrap_servers
        PID = broker.pid
        label = f"embedded Tansu on {BS}"
        row("0. embedded broker start (spawn -> metadata answered)", f"{(time.monotonic() - t0) * 1000:.0f} ms", "")
    print(f"probing {label}", flush=True)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("1", probe_round_trip),
        ("1c", probe_idle_cpu),
        ("2", lambda: probe_join(6000)),
        ("2", lambda: probe_join(3000)),
        ("2b", lambda: probe_rebalance("range,roundrobin")),
        ("2b", lambda: probe_rebalance("cooperative-sticky")),
        ("3", probe_watermarks),
        ("4", probe_transactions),
        ("5", probe_offsets),
        ("6", probe_idempotence),
        ("7", probe_batch),
    ]
    try:
        for label_, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - report and go on
                row(f"{label_}. (step failed)", f"{type(exc).__name__}: {exc}", "")
    finally:
        if broker is not None:
            t0 = time.monotonic()
            broker.stop()
            row("8. embedded broker stop (SIGTERM -> exited)", f"{(time.monotonic() - t0) * 1000:.0f} ms", "")
    print_table(label, time.monotonic() - started)
    return 0


def print_table(label: str, elapsed: float) -> None:
    headers = ("what", "measured", "DESIGN.md / expected")
    widths = [max(len(headers[i]), *(len(r[i]) for r in ROWS)) for i in range(3)]
    widths[1] = min(widths[1], 120)
    print()
    print(f"broker probe: {label}; confluent-kafka / librdkafka {_versions()}; {elapsed:.1f} s")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in ROWS:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")


def _versions() -> str:
    import confluent_kafka

    return f"{confluent_kafka.version()[0]} / {confluent_kafka.libversion()[0]}"


if __name__ == "__main__":
    sys.exit(main())
