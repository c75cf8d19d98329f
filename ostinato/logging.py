"""Service logging with structlog: JSON lines when deployed, readable lines locally.

Every line can carry the execution and task-run ids it concerns (`log.bind(...)`).

`configure_logging` also routes what does not come through structlog into the same
renderer, so that with `--log-format json` every line a service writes is JSON:

- the standard `logging` module's records (uvicorn, its access log, httpx, ...), through a
  root handler (uvicorn is started with `log_config=None` so it keeps none of its own);
- librdkafka's lines: every Kafka client made from `KafkaSettings` gets `kafka_logger()`
  as its `logger` (confluent-kafka then hands librdkafka's lines to it from `poll`);
- Python warnings (`logging.captureWarnings`);
- uncaught exceptions, in the main thread and in other threads (`sys.excepthook`,
  `threading.excepthook`), with their traceback in the `exception` field.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import Any

import structlog

#: the logger librdkafka's lines go to (`logger` of confluent-kafka's clients)
KAFKA_LOGGER = "librdkafka"

#: set by `configure_logging`: whether Kafka clients should log through `kafka_logger()`
_route_kafka = False


def configure_logging(*, service: str, json_lines: bool, level: str = "INFO") -> None:
    """Set up structlog for one service process (`json_lines=False` for `ostinato local`),
    and send the standard logging, librdkafka, warnings and uncaught exceptions through it."""
    global _route_kafka
    numeric = getattr(logging, level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _ServiceName(service),  # threads start without the main thread's context variables
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # one write per line, so a line never interleaves with the root handler's
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    _route_standard_logging(shared, renderer, numeric)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    _route_kafka = True


class _ServiceName:
    """A processor adding `service` to every line that has none."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(self, _: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("service", self.service)
        return event


def _route_standard_logging(shared: list[Any], renderer: Any, level: int) -> None:
    """One root handler on stderr rendering every standard-library record like structlog's."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def _log_uncaught(kind: type[BaseException], error: BaseException,
                  traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, traceback)
        return
    structlog.get_logger().critical("uncaught exception", exc_info=(kind, error, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return  # what threading's own hook does: a thread may end that way
    structlog.get_logger().critical(
        "uncaught exception in a thread", thread=getattr(args.thread, "name", None),
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback))


def kafka_logger() -> logging.Logger | None:
    """The logger Kafka clients should hand librdkafka's lines to, once `configure_logging`
    ran (None before: librdkafka then writes to stderr itself, as in tests and tools)."""
    return logging.getLogger(KAFKA_LOGGER) if _route_kafka else None


def get_logger(**bound: Any) -> Any:
    """A logger with `bound` key-values on every line (e.g. executionId, taskRunId).

    Lazy: modules create their loggers at import, before `configure_logging` runs, and
    each must still use the configuration (binding at once would freeze the default one)."""
    return structlog.get_logger(**bound)
