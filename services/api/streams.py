"""Waiting on the view: executions that appear or end, and server-sent event streams."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator

from ostinato.execution.model import Execution
from ostinato.services.api.context import Api
from ostinato.services.api.kestra_json import execution_json, level_at_least
from ostinato.services.api.view import Subscription, execution_key, logs_key

#: a comment line sent when nothing happened for this long, so a gone client is noticed
KEEPALIVE_SECONDS = 10.0
#: logs may reach the view a little after the execution's last record (another topic)
LOG_GRACE_SECONDS = 1.0


def sse(event_id: str, data: Any) -> str:
    return f"id: {event_id}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def current_execution(api: Api, execution_id: str, subscription: Subscription,
                            wait: float) -> tuple[dict[str, Any] | None, bool] | None:
    """The execution's JSON and whether it finished, waiting up to `wait` s for the view to
    have it (it may have been created on another replica a moment ago). The JSON is None
    when it came from a subscription without progress and the execution has not finished."""
    execution = await asyncio.to_thread(api.view.execution, execution_id)
    if execution is not None:
        return execution_json(execution), execution.finished
    try:
        item: tuple[dict[str, Any] | None, bool] = await asyncio.wait_for(subscription.queue.get(), wait)
        return item
    except asyncio.TimeoutError:
        return None


async def find_execution(api: Api, execution_id: str) -> Execution | None:
    """The execution from the view, waiting a little if this replica has not seen it yet."""
    execution = await asyncio.to_thread(api.view.execution, execution_id)
    if execution is not None or not api.settings.read_wait:
        return execution
    subscription = api.view.hub.subscribe(execution_key(execution_id), progress=False)
    try:
        if await current_execution(api, execution_id, subscription, api.settings.read_wait) is None:
            return None
    finally:
        api.view.hub.unsubscribe(subscription)
    return await asyncio.to_thread(api.view.execution, execution_id)


async def until_finished(subscription: Subscription,
                         first: tuple[dict[str, Any] | None, bool]) -> dict[str, Any]:
    """The execution's JSON once it has finished."""
    data, finished = first
    while not finished:
        data, finished = await subscription.queue.get()
    assert data is not None  # a finished execution is always published with its JSON
    return data


async def follow_execution(api: Api, subscription: Subscription,
                           first: tuple[dict[str, Any] | None, bool]) -> AsyncIterator[str]:
    """Kestra's follow: `progress` with the current execution, then each change, then `end`
    (only `end` when it has already finished)."""
    try:
        data, finished = first
        if not finished:
            yield sse("progress", data)
        while not finished:
            try:
                data, finished = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_SECONDS)
            except asyncio.TimeoutError:
                yield ": keepalive\n\n"
                continue
            yield sse("progress", data)
        yield sse("end", data)
    finally:
        api.view.hub.unsubscribe(subscription)


async def follow_logs(api: Api, execution_id: str, min_level: str | None) -> AsyncIterator[str]:
    """Every log of the execution so far, then each new one; ends once the execution has
    finished and no log came for a moment."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    logs = api.view.hub.subscribe(logs_key(execution_id), queue)
    changes = api.view.hub.subscribe(execution_key(execution_id), queue, progress=False)
    sent: set[bytes] = set()
    try:
        for key, entry in await asyncio.to_thread(lambda: list(api.view.logs(execution_id))):
            sent.add(key)
            if level_at_least(entry["level"], min_level):
                yield sse("progress", entry)
        execution = await asyncio.to_thread(api.view.execution, execution_id)
        ends_at = time.monotonic() + LOG_GRACE_SECONDS if execution and execution.finished else None
        while ends_at is None or time.monotonic() < ends_at:
            wait = KEEPALIVE_SECONDS if ends_at is None else max(ends_at - time.monotonic(), 0.01)
            try:
                first, second = await asyncio.wait_for(queue.get(), wait)
            except asyncio.TimeoutError:
                if ends_at is None:
                    yield ": keepalive\n\n"
                continue
            if isinstance(first, bytes):  # a log: (key, entry)
                if first not in sent:
                    sent.add(first)
                    if level_at_least(second["level"], min_level):
                        yield sse("progress", second)
                if ends_at is not None:
                    ends_at = time.monotonic() + LOG_GRACE_SECONDS
            elif second and ends_at is None:  # the execution: (json, finished)
                ends_at = time.monotonic() + LOG_GRACE_SECONDS
    finally:
        api.view.hub.unsubscribe(logs)
        api.view.hub.unsubscribe(changes)
