"""The management port every service process exposes: health, readiness and Prometheus metrics.

```python
management = Management(service="executor", port=8081)
management.start()                      # serves in a daemon thread
metrics = standard_metrics(management)  # the services' metrics, each made on first use
...
management.set_ready(True)              # once the service can do its work
...
management.set_ready(False, "stopping")
management.stop()
```

Endpoints (GET or HEAD):

- `/health`  liveness: 200 `{"status": "UP", ...}` unless `set_alive(False)`, then 503 `DOWN`.
  A Kubernetes liveness probe restarts the pod on failure, so it reports only what a
  restart cures (a wedged loop, a background thread that died), never a dependency such
  as Kafka being unreachable. Every background thread of a service is started with
  `start_service_thread`: one that dies of an exception turns /health DOWN with its name.
- `/ready`   readiness: 200 only after `set_ready(True)`; 503 before (`reason` "starting").
- `/metrics` the Prometheus text format of `registry`, which also holds the standard
  process, platform and garbage-collector collectors.

Anything else answers 404 JSON. Access logs are not written.

Each instance has its own `CollectorRegistry`, so several can live in one process (tests).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from ostinato.logging import get_logger
from ostinato.metrics.service import FAST_BUCKETS, TASK_BUCKETS, ServiceMetrics

log = get_logger(component="management")

__all__ = [
    "DEFAULT_PORT",
    "METRIC_PREFIX",
    "Management",
    "StandardMetrics",
    "report_thread_deaths",
    "TASK_BUCKETS",
    "FAST_BUCKETS",
    "ServiceMetrics",
    "standard_metrics",
    "start_service_thread",
]

#: the port of the deployed services (OSTINATO_MANAGEMENT_PORT); 0 picks a free one
DEFAULT_PORT = 8081
#: every metric created through `Management` starts with this
METRIC_PREFIX = "ostinato_"

_Metric = TypeVar("_Metric", Counter, Gauge, Histogram)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    management: Management


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "ostinato-management"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        management = self.server.management
        path = urlsplit(self.path).path.rstrip("/") or "/"
        if path == "/health":
            status, payload = management._state_payload(liveness=True)
            self._send(status, "application/json", _json(payload), body)
        elif path == "/ready":
            status, payload = management._state_payload(liveness=False)
            self._send(status, "application/json", _json(payload), body)
        elif path == "/metrics":
            self._send(HTTPStatus.OK, CONTENT_TYPE_LATEST, generate_latest(management.registry), body)
        else:
            self._send(HTTPStatus.NOT_FOUND, "application/json",
                       _json({"error": "not found", "path": path,
                              "endpoints": ["/health", "/ready", "/metrics"]}), body)

    def _send(self, status: int, content_type: str, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """Quiet: probes every few seconds would drown the service's own logs."""


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Management:
    """A small HTTP server for probes and Prometheus, one per service process."""

    def __init__(self, *, service: str, host: str = "0.0.0.0", port: int = 0) -> None:
        self.service = service
        self.host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._ready = False
        self._ready_reason = "starting"
        self._alive = True
        self._alive_reason = ""
        self._dead_threads: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._metrics: dict[str, tuple[type, tuple[str, ...], Any]] = {}
        self._service_metrics: ServiceMetrics | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        # The default collectors, registered into this registry rather than the global one.
        if PROCESS_COLLECTOR is not None:
            ProcessCollector(registry=self.registry)
        if PLATFORM_COLLECTOR is not None:
            PlatformCollector(registry=self.registry)
        if GC_COLLECTOR is not None:
            GCCollector(registry=self.registry)
        self._ready_gauge = self.gauge("ready", "1 when the service answers /ready with 200, else 0.")
        self._ready_gauge.set(0)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Bind and serve in a daemon thread; raises OSError when the port is taken."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("management server already started")
            server_class = _Server6 if ":" in self.host else _Server
            server = server_class((self.host, self._requested_port), _Handler)
            server.management = self
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.2},
                name=f"management-{self.service}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port (safe to call twice, or before `start`)."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Management:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the free one chosen when constructed with port 0)."""
        server = self._server
        if server is None:
            raise RuntimeError("management server not started")
        return int(server.server_address[1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if ":" in host:
            host = "[::1]" if host == "::" else f"[{host}]"
        return f"http://{host}:{self.port}"

    # -- state ---------------------------------------------------------------------------

    def set_ready(self, ready: bool, reason: str = "") -> None:
        """Readiness: /ready answers 200 only while ready (e.g. state restored, consuming)."""
        with self._lock:
            self._ready = ready
            self._ready_reason = reason
        self._ready_gauge.set(1 if ready else 0)

    def set_alive(self, alive: bool, reason: str = "") -> None:
        """Liveness: /health answers 503 after `set_alive(False)` (the pod gets restarted)."""
        with self._lock:
            self._alive = alive
            self._alive_reason = reason

    def thread_died(self, name: str, error: BaseException) -> None:
        """A background thread stopped on an error: not alive any more, naming the thread."""
        with self._lock:
            self._dead_threads.append(f"{name} ({error!r})"[:300])
            self._alive = False
            self._alive_reason = "background thread stopped: " + "; ".join(self._dead_threads)

    @property
    def dead_threads(self) -> list[str]:
        """The background threads that died, with their error."""
        with self._lock:
            return list(self._dead_threads)

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def alive(self) -> bool:
        return self._alive

    def _state_payload(self, *, liveness: bool) -> tuple[int, dict[str, Any]]:
        with self._lock:
            up = self._alive if liveness else self._ready and self._alive
            if liveness:
                reason = self._alive_reason
            else:
                reason = self._ready_reason if self._alive else self._alive_reason or self._ready_reason
        status = HTTPStatus.OK if up else HTTPStatus.SERVICE_UNAVAILABLE
        return status, {"status": "UP" if up else "DOWN", "service": self.service, "reason": reason}

    # -- metrics -------------------------------------------------------------------------

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """A counter `ostinato_<name>` in this registry (`_total` is added by the exposition)."""
        return self._metric(Counter, name, documentation, labels)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        """A gauge `ostinato_<name>` in this registry."""
        return self._metric(Gauge, name, documentation, labels)

    def histogram(self, name: str, documentation: str, labels: Sequence[str] = (),
                  buckets: Sequence[float] = FAST_BUCKETS) -> Histogram:
        """A histogram `ostinato_<name>` (seconds, by convention) in this registry."""
        return self._metric(Histogram, name, documentation, labels, buckets=tuple(buckets))

    def _metric(self, kind: type[_Metric], name: str, documentation: str,
                labels: Sequence[str], **extra: Any) -> _Metric:
        full = name if name.startswith(METRIC_PREFIX) else METRIC_PREFIX + name
        labels = tuple(labels)
        with self._lock:
            existing = self._metrics.get(full)
            if existing is not None:
                known_kind, known_labels, metric = existing
                if known_kind is not kind or known_labels != labels:
                    raise ValueError(
                        f"metric `{full}` already exists as a {known_kind.__name__} "
                        f"with labels {known_labels}")
                return metric  # type: ignore[no-any-return]
            metric = kind(full, documentation, labelnames=labels, registry=self.registry, **extra)
            self._metrics[full] = (kind, labels, metric)
            return metric


#: the liveness that threads started without an explicit one report to (`serve` sets it)
_process_liveness: Management | None = None


def report_thread_deaths(management: Management | None) -> None:
    """Make `management` the liveness of this process's background threads (None: none)."""
    global _process_liveness
    _process_liveness = management


def start_service_thread(name: str, target: Callable[..., None], *args: Any,
                         liveness: Management | None = None) -> threading.Thread:
    """Start a daemon thread running `target(*args)`. If it raises, the error is logged
    and the process's liveness (`liveness`, else the one `report_thread_deaths` set) turns
    DOWN naming the thread, so the platform restarts the process rather than leave it
    half-working. A thread that returns ends quietly (its stop was asked for)."""

    def guarded() -> None:
        try:
            target(*args)
        except BaseException as error:
            log.exception("background thread stopped on an error", thread=name)
            management = liveness if liveness is not None else _process_liveness
            if management is not None:
                management.thread_died(name, error)

    thread = threading.Thread(target=guarded, name=name, daemon=True)
    thread.start()
    return thread


#: the services' metric set (the old name, kept for the services' signatures)
StandardMetrics = ServiceMetrics


def standard_metrics(management: Management) -> ServiceMetrics:
    """The metric set of `management`'s registry, each metric made when first used (the
    same set when called again): a service exports only the metrics it uses or declares
    (`ostinato.metrics.service.declare_service_metrics`)."""
    with management._lock:
        if management._service_metrics is None:
            management._service_metrics = ServiceMetrics(management)
        return management._service_metrics
