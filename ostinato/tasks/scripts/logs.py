"""What a script prints: log lines, and Kestra's `::{...}::` lines for outputs and metrics.

A line that is exactly `::{json}::` is not logged; its JSON may hold

* `outputs`: a map merged into the task's `vars` output (a later key wins),
* `metrics`: a list of `{name, type: counter|timer, value, tags}` (timers in seconds),
* `logs`: a list of `{level, message}` logged at their own level.

Any other stdout line is logged at INFO, any stderr line at `STDERR_LEVEL`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ostinato.tasks.base import RunContext, normalize_level

#: Kestra logs stderr at ERROR; here it is WARN so that a tool's chatter on stderr (pip,
#: curl progress...) does not read as a failure in `errorLogs()` while the task succeeds.
STDERR_LEVEL = "WARN"

_STRUCTURED = re.compile(r"^::(\{.*\})::$")
_RESERVED_METRIC_ARGS = frozenset({"name", "value", "type"})


class ScriptLogConsumer:
    """Takes the output lines of one script run; holds the `vars` and the line counts."""

    def __init__(self, ctx: RunContext, stderr_level: str = STDERR_LEVEL) -> None:
        self.ctx = ctx
        self.stderr_level = stderr_level
        self.vars: dict[str, Any] = {}
        self.stdout_count = 0
        self.stderr_count = 0

    def stdout(self, line: str) -> None:
        self.stdout_count += 1
        if not self._structured(line):
            self.ctx.log("INFO", line)

    def stderr(self, line: str) -> None:
        self.stderr_count += 1
        if not self._structured(line):
            self.ctx.log(self.stderr_level, line)

    def _structured(self, line: str) -> bool:
        match = _STRUCTURED.match(line)
        if match is None:
            return False
        try:
            data = json.loads(match.group(1))
        except ValueError as exc:
            self.ctx.log("WARN", f"Invalid outputs '{match.group(1)}': {exc}")
            return True
        if not isinstance(data, dict):
            self.ctx.log("WARN", f"Invalid outputs '{match.group(1)}': not a JSON object")
            return True
        outputs = data.get("outputs")
        if isinstance(outputs, dict):
            self.vars.update(outputs)
        elif outputs is not None:
            self.ctx.log("WARN", f"Invalid outputs '{match.group(1)}': `outputs` must be a map")
        for metric in _as_list(data.get("metrics")):
            self._metric(metric)
        for entry in _as_list(data.get("logs")):
            self._log(entry)
        return True

    def _metric(self, metric: Any) -> None:
        try:
            name = metric["name"]
            kind = str(metric.get("type", "counter")).lower()
            value = float(metric["value"])
            tags = metric.get("tags") or {}
            if not isinstance(name, str) or kind not in ("counter", "timer") or not isinstance(tags, dict):
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError):
            self.ctx.log("WARN", f"Invalid metric '{json.dumps(metric, default=str)}'")
            return
        tags = {str(k): v for k, v in tags.items()}
        if _RESERVED_METRIC_ARGS.isdisjoint(tags):
            self.ctx.metric(name, value, kind, **tags)
        else:  # a tag named like one of metric()'s own parameters
            self.ctx.metrics.append(
                {"name": name, "type": kind, "value": value, "tags": {k: str(v) for k, v in tags.items()}}
            )

    def _log(self, entry: Any) -> None:
        try:
            level = normalize_level(entry["level"])
            message = entry["message"]
        except (KeyError, TypeError, ValueError):
            self.ctx.log("WARN", f"Invalid log '{json.dumps(entry, default=str)}'")
            return
        self.ctx.log(level, message if isinstance(message, str) else json.dumps(message, default=str))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
