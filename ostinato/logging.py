"""Service logging with structlog: JSON lines when deployed, readable lines locally.

Every line can carry the execution and task-run ids it concerns (`log.bind(...)`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure_logging(*, service: str, json_lines: bool, level: str = "INFO") -> None:
    """Set up structlog for one service process (`json_lines=False` for `ostinato local`)."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(**bound: Any) -> Any:
    """A logger with `bound` key-values on every line (e.g. executionId, taskRunId).

    Lazy: modules create their loggers at import, before `configure_logging` runs, and
    each must still use the configuration (binding at once would freeze the default one)."""
    return structlog.get_logger(**bound)
