"""The API's span of a request that creates an execution: the root of its trace."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ostinato.tracing import enabled, execution_root

if TYPE_CHECKING:
    from opentelemetry.trace import Span

STATUS_CODE = "http.response.status_code"


@contextmanager
def request_span(execution_id: str, method: str, route: str, path: str, *,
                 traceparent: str | None, attributes: Mapping[str, Any],
                 start: datetime | None = None) -> Iterator[Span]:
    """A SERVER span `METHOD route` that is the root of the execution's trace, with the
    HTTP attributes; the caller's own `traceparent` (a client's trace) is linked. An error
    that escapes sets the status code it carries (`status`, as ApiError's; else 500).
    `start`: when the request began, if before now."""
    with execution_root(execution_id, f"{method} {route}", server=True, linked=traceparent,
                        start=start, attributes={"http.request.method": method, "http.route": route,
                                    "url.path": path, **attributes}) as span:
        try:
            yield span
        except Exception as error:
            if enabled():
                status = getattr(error, "status", None)
                span.set_attribute(STATUS_CODE, status if isinstance(status, int) else 500)
            raise
        span.set_attribute(STATUS_CODE, 200)
