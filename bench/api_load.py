"""Executions created over HTTP as fast as the API accepts them.

Starts the embedded stack (executor, worker, scheduler, API), deploys a 2-task flow through
the API, then creates N executions with `POST /api/v1/main/executions/bench/two-tasks`
(`--concurrency` requests in flight), and fetches each one by id until it has ended.
Prints the creation rate, p50 / p99 time from the create request to the execution's end,
and whether any execution was lost (never seen, or not SUCCESS).

    .venv/bin/python bench/api_load.py [--executions 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack

from shared import instant, percentile, TWO_TASKS

ENDED = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"}


def wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{base}/health", timeout=2)
            if answer.status_code == 200 and answer.json().get("viewReady"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the API at {base} was not ready within {timeout} s")


async def create_all(base: str, count: int, concurrency: int) -> tuple[dict[str, float], float]:
    """Execution id -> wall-clock time its create request was sent; and the total seconds."""
    sent: dict[str, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            at = time.time()
            answer = await http.post("/api/v1/main/executions/bench/two-tasks")
            answer.raise_for_status()
            sent[answer.json()["id"]] = at

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return sent, time.monotonic() - started


def wait_all(base: str, sent: dict[str, float], timeout: float) -> dict[str, dict[str, object]]:
    done: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=30) as http:
        while len(done) < len(sent) and time.monotonic() < deadline:
            for execution_id in [i for i in sent if i not in done]:
                answer = http.get(f"/api/v1/main/executions/{execution_id}")
                if answer.status_code == 200 and answer.json()["state"]["current"] in ENDED:
                    done[execution_id] = answer.json()
            time.sleep(0.2)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ostinato-bench-") as tmp:
        stack = LocalStack(data_dir=Path(tmp), services=("executor", "worker", "scheduler", "api"),
                           api_port=free_port())
        stack.start()
        try:
            base = f"http://127.0.0.1:{stack.api_port}"
            wait_ready(base)
            httpx.post(f"{base}/api/v1/main/flows", content=TWO_TASKS,
                       headers={"Content-Type": "application/x-yaml"}, timeout=30).raise_for_status()
            warm = httpx.post(f"{base}/api/v1/main/executions/bench/two-tasks?wait=true", timeout=60)
            assert warm.json()["state"]["current"] == "SUCCESS", warm.text
            sent, seconds = asyncio.run(create_all(base, args.executions, args.concurrency))
            done = wait_all(base, sent, args.timeout)
        finally:
            stack.stop()
    to_end = [instant(str(e["state"]["endDate"])).timestamp() - sent[i] for i, e in done.items()]  # type: ignore[index]
    succeeded = sum(1 for e in done.values() if e["state"]["current"] == "SUCCESS")  # type: ignore[index,misc]
    print(json.dumps({
        "executions": args.executions,
        "created": len(sent),
        "creation_seconds": round(seconds, 3),
        "creation_rate_per_s": round(len(sent) / seconds, 1),
        "ended_and_fetched": len(done),
        "succeeded": succeeded,
        "lost": args.executions - succeeded,
        "to_end_p50_s": round(statistics.median(to_end), 3) if to_end else None,
        "to_end_p99_s": round(percentile(to_end, 0.99), 3) if to_end else None,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }, indent=2))


if __name__ == "__main__":
    main()
