"""How long an execution search takes in the API's view as the number of executions grows.

Fills a real RocksDB view store (`ostinato/store/view.py`) with N execution summaries and
times the scan a `GET /executions/search` makes (the summaries read and filtered, then sorted
and paged): for one flow's executions (1%, read through the by-flow keys) and for all.

    .venv/bin/python bench/view_search.py [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from ostinato.store.view import ViewBatch, ViewStore
from ostinato.services.api.routes.common import paged
from ostinato.services.api.routes.executions import SORT_FIELDS, Filters


def fill(store: ViewStore, count: int) -> None:
    batch = ViewBatch()
    for i in range(count):
        execution_id = f"e{i:09d}"
        batch.summaries[execution_id] = {
            "id": execution_id, "namespace": "bench", "flowId": f"flow-{i % 100}",
            "flowRevision": 1, "tenantId": None, "state": "SUCCESS" if i % 10 else "FAILED",
            "startDate": f"2026-01-01T00:00:{i % 60:02d}.{i:06d}Z"[:27] + "Z",
            "endDate": None, "labels": {"team": "bench"}}
        if len(batch.summaries) == 10_000:
            store.write(batch)
            batch = ViewBatch()
    store.write(batch)


def timed(store: ViewStore, filters: Filters, runs: int = 5) -> tuple[float, int]:
    times, total = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        kept = [s for s in store.summaries(filters.flow_id) if filters.keep(s)]
        total = paged(kept, 1, 10, [], default="state.startDate:desc", fields=SORT_FIELDS)["total"]
        times.append(time.perf_counter() - started)
    return statistics.median(times), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    args = parser.parse_args()
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="ostinato-view-") as tmp:
            store = ViewStore(Path(tmp))
            fill(store, size)
            one_flow, kept_few = timed(store, Filters(tenant_id=None, flow_id="flow-7"))
            everything, kept_all = timed(store, Filters(tenant_id=None))
            store.close()
        print(f"{size:>7} executions: search keeping {kept_few:>5} (1%) {one_flow * 1000:8.1f} ms, "
              f"keeping all {kept_all:>6} {everything * 1000:8.1f} ms (median of 5)")


if __name__ == "__main__":
    main()
