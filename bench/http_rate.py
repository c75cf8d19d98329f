"""Executions created over HTTP at a fixed rate (open loop: a slow answer delays nothing).

The n-th `POST /api/v1/main/executions/{namespace}/{flow}` is sent at start + n / rate,
whether or not the earlier ones were answered, as a steady stream of clients would.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Offered:
    """What was sent: the ids created, the requests refused, and how late the sender was."""

    ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the latest a request left after its planned time (the client's own lag)
    worst_lateness: float = 0.0


def offer(base: str, namespace: str, flow_id: str, rate: float, seconds: float) -> Offered:
    return asyncio.run(_offer(base, namespace, flow_id, rate, seconds))


async def _offer(base: str, namespace: str, flow_id: str, rate: float, seconds: float) -> Offered:
    offered = Offered()
    path = f"/api/v1/main/executions/{namespace}/{flow_id}"
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        async def create() -> None:
            try:
                answer = await http.post(path)
                answer.raise_for_status()
                offered.ids.append(answer.json()["id"])
            except (httpx.HTTPError, KeyError, ValueError) as error:
                offered.errors.append(f"{type(error).__name__}: {error}")

        begin = time.monotonic()
        pending = []
        for n in range(int(rate * seconds)):
            planned = begin + n / rate
            await asyncio.sleep(max(0.0, planned - time.monotonic()))
            offered.worst_lateness = max(offered.worst_lateness, time.monotonic() - planned)
            pending.append(asyncio.create_task(create()))
        await asyncio.gather(*pending)
        offered.seconds = time.monotonic() - begin
    return offered
