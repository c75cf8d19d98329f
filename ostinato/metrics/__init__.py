"""What the services export on /metrics: their metric sets (`service`) and the consumer
lag of their group consumers (`lag`)."""

from __future__ import annotations

import os

from ostinato.metrics.lag import DEFAULT_INTERVAL_SECONDS, LagMonitor, set_statistics_interval
from ostinato.metrics.service import ServiceMetrics, declare_service_metrics

#: seconds between two measures of the consumer lag (default 5)
LAG_INTERVAL_ENV = "OSTINATO_LAG_INTERVAL"


def lag_interval() -> float:
    """OSTINATO_LAG_INTERVAL, or the default; a value that is not a positive number is an
    error naming the variable."""
    text = os.environ.get(LAG_INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"{LAG_INTERVAL_ENV} must be a positive number of seconds, not `{text}`")
    return seconds


def start_service_metrics(metrics: ServiceMetrics, service: str) -> LagMonitor:
    """Declare `service`'s metrics and start measuring its consumers' lag (stop the
    returned monitor when the service stops)."""
    declare_service_metrics(metrics, service)
    interval = lag_interval()
    set_statistics_interval(interval)  # of the group consumers the service makes next
    return LagMonitor(lambda: metrics.consumer_lag, interval=interval).start()


__all__ = ["LAG_INTERVAL_ENV", "ServiceMetrics", "lag_interval", "start_service_metrics"]
