"""`/api/v1/{tenant}/ui/executions/{id}/follow`: the web UI's follow of an execution, which
sends only what changed.

Kestra's follow (executions.py) sends the whole execution on every change, and has the
view's reader thread build it for every batch it applies: for a ForEach over thousands of
values that is a megabyte of JSON many times a second, and the reader (and so every API
answer) falls behind. This stream subscribes without progress (the reader only says that
something changed), reads the execution's stored task runs as bytes at most every
`MIN_INTERVAL` seconds, and decodes and sends only the runs whose bytes changed.

Events (`id:` then `data:`): `full` with the execution's JSON first; then `changes` with the
execution's JSON without `taskRunList`, plus `taskRunCount` and `taskRuns`, a list of
`[index, task run JSON]`; the last one is `end` (the shape of `changes`, or of `full` when
the execution had finished before the follow).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ostinato.execution.progress import ended_from_header
from ostinato.wire import records as rec
from ostinato.services.api.context import Api
from ostinato.services.api.errors import not_found
from ostinato.services.api.kestra_json import execution_json
from ostinato.services.api.routes.common import api_of
from ostinato.services.api.streams import KEEPALIVE_SECONDS, sse
from ostinato.services.api.view import Subscription, execution_key

router = APIRouter(tags=["Web UI"])

#: the least time between two reads of the execution (changes meanwhile are coalesced)
MIN_INTERVAL = 0.2


@dataclass
class Snapshot:
    """What was last sent: each task run's stored bytes, by index."""

    runs: list[bytes] = field(default_factory=list)


def _read(api: Api, execution_id: str) -> tuple[dict[str, Any], list[bytes]] | None:
    """The decoded header and the stored (encoded) task runs, from one store snapshot."""
    header: dict[str, Any] = {}

    def run_count(value: bytes) -> int:
        header.update(api.codec.decode(value, expected="ExecutionHeader")[1])
        return int(header["taskRunCount"])

    stored = api.view.store.execution(execution_id, run_count)
    return None if stored is None else (header, [bytes(run) for run in stored[1]])


def _run_json(api: Api, value: bytes) -> dict[str, Any]:
    record = api.codec.decode(value, expected="TaskRun")[1]
    return rec.task_run_from_record(record).to_dict(internal=False)


def full_event(api: Api, header: dict[str, Any], runs: list[bytes]) -> dict[str, Any]:
    records = [api.codec.decode(value, expected="TaskRun")[1] for value in runs]
    return execution_json(rec.execution_from_changelog(header, records))


def changes_event(api: Api, header: dict[str, Any], runs: list[bytes],
                  before: Snapshot) -> dict[str, Any]:
    """The execution without its task runs, and the runs that are new or changed."""
    out = execution_json(rec.execution_from_changelog({**header, "taskRunCount": 0}, []))
    del out["taskRunList"]
    out["taskRunCount"] = len(runs)
    out["taskRuns"] = [[index, _run_json(api, value)] for index, value in enumerate(runs)
                       if index >= len(before.runs) or before.runs[index] != value]
    return out


async def _first(api: Api, execution_id: str,
                 subscription: Subscription) -> tuple[dict[str, Any], list[bytes]] | None:
    """The execution as stored, waiting up to the API's read wait for it to reach the view
    (the page follows again when the stream ends early, so a short wait is enough)."""
    deadline = asyncio.get_running_loop().time() + api.settings.read_wait
    while True:
        found = await asyncio.to_thread(_read, api, execution_id)
        left = deadline - asyncio.get_running_loop().time()
        if found is not None or left <= 0:
            return found
        try:
            await asyncio.wait_for(subscription.queue.get(), left)
        except asyncio.TimeoutError:
            return None


async def _next_change(subscription: Subscription) -> bool:
    """Waits for a change, lets more come for MIN_INTERVAL, and drains them all; False when
    none came for KEEPALIVE_SECONDS."""
    try:
        await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_SECONDS)
    except asyncio.TimeoutError:
        return False
    await asyncio.sleep(MIN_INTERVAL)
    while not subscription.queue.empty():
        subscription.queue.get_nowait()
    return True


async def follow_changes(api: Api, execution_id: str, subscription: Subscription,
                         first: tuple[dict[str, Any], list[bytes]]) -> AsyncIterator[str]:
    try:
        header, runs = first
        done = ended_from_header(header)
        yield sse("end" if done else "full", await api.cpu.run(full_event, api, header, runs))
        before = Snapshot(runs)
        while not done:
            if not await _next_change(subscription):
                yield ": keepalive\n\n"
                continue
            found = await asyncio.to_thread(_read, api, execution_id)
            if found is None:  # deleted meanwhile
                return
            header, runs = found
            event = await api.cpu.run(changes_event, api, header, runs, before)
            before = Snapshot(runs)
            done = ended_from_header(header)
            yield sse("end" if done else "changes", event)
    finally:
        api.view.hub.unsubscribe(subscription)


@router.get("/ui/executions/{execution_id}/follow", summary="Server-sent events for the web UI: "
            "`full` (the execution), then `changes` (its header and only the task runs that "
            "changed), the last one `end`")
async def follow(request: Request, execution_id: str) -> Any:
    api = api_of(request)
    subscription = api.view.hub.subscribe(execution_key(execution_id), progress=False)
    first = await _first(api, execution_id, subscription)
    if first is None:
        api.view.hub.unsubscribe(subscription)
        raise not_found(f"Execution {execution_id} not found")
    return StreamingResponse(follow_changes(api, execution_id, subscription, first),
                             media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
