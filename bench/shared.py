"""What the benches share: a 2-task flow, ISO instants, percentiles. (Benches run as
scripts, `python bench/x.py`, so `bench/` is on the path and `from shared import ...` works.)"""

from __future__ import annotations

from datetime import datetime

#: a flow of two Return tasks, the second using the first's output
TWO_TASKS = """id: two-tasks
namespace: bench
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: "{{ execution.id }}"
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.first.value }}"
"""


def instant(text: str | None) -> datetime:
    """A date of Kestra's JSON (`...Z`) as an aware datetime."""
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` percentile (0..1) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
