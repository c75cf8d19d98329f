"""Executions created over HTTP at a fixed rate (open loop: a slow answer delays nothing).

The n-th `POST /api/v1/main/executions/{namespace}/{flow}` is due at start + n / rate and
goes out on the first free keep-alive connection of a pool. The sender runs in a process of
its own (`offer` starts `python bench/http_rate.py`), with a bare HTTP/1.1 client on asyncio
streams, so that neither the bench's Kafka watcher (same GIL) nor a heavy client library
makes it late on a busy 2-core machine; how late it still was is reported.

    .venv/bin/python bench/http_rate.py --base http://127.0.0.1:8080 --flow bench/x --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

#: connections kept open: at a 50 ms answer they carry 1,280 requests a second
CONNECTIONS = 64


@dataclass
class Offered:
    """What was sent: the ids created, the requests refused, and how late the sender was."""

    ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the latest a request left after its planned time (the client's own lag, or no free
    #: connection: every one waiting on an answer)
    worst_lateness: float = 0.0
    #: seconds from each create request to its answer
    answers: list[float] = field(default_factory=list)


def offer(base: str, namespace: str, flow_id: str, rate: float, seconds: float) -> Offered:
    """Run the sender in its own process; what it sent."""
    command = [sys.executable, __file__, "--base", base, "--flow", f"{namespace}/{flow_id}",
               "--rate", str(rate), "--seconds", str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds * 20 + 120)
    if done.returncode != 0:
        raise RuntimeError(f"the HTTP sender failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return Offered(**json.loads(done.stdout))


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str) -> str:
    """One POST without a body on a kept-alive connection; the created execution's id."""
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
    if "content-length" not in headers:
        raise ValueError(f"answer without Content-Length: {status_line}")
    body = await reader.readexactly(int(headers["content-length"]))
    if not status_line.split(" ")[1].startswith("2"):
        raise ValueError(f"{status_line}: {body[:200].decode(errors='replace')}")
    return str(json.loads(body)["id"])


async def _offer(base: str, flow: str, rate: float, seconds: float) -> Offered:
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = f"/api/v1/main/executions/{flow}"
    offered = Offered()
    due: asyncio.Queue[float | None] = asyncio.Queue()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (planned := await due.get()) is not None:
                sent = time.monotonic()
                offered.worst_lateness = max(offered.worst_lateness, sent - planned)
                try:
                    offered.ids.append(await _post(reader, writer, f"{host}:{port}", path))
                except (OSError, ValueError, KeyError, asyncio.IncompleteReadError) as error:
                    offered.errors.append(f"{type(error).__name__}: {error}")
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                offered.answers.append(time.monotonic() - sent)
        finally:
            writer.close()

    pool = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
    begin = time.monotonic()
    for n in range(int(rate * seconds)):
        planned = begin + n / rate
        await asyncio.sleep(max(0.0, planned - time.monotonic()))
        due.put_nowait(planned)
    for _ in pool:
        due.put_nowait(None)
    await asyncio.gather(*pool)
    offered.seconds = time.monotonic() - begin
    return offered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the API's base URL")
    parser.add_argument("--flow", required=True, help="namespace/flow id")
    parser.add_argument("--rate", type=float, required=True, help="executions a second")
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0:
        parser.error(f"--rate and --seconds must be positive, got {args.rate} and {args.seconds}")
    print(json.dumps(asdict(asyncio.run(_offer(args.base, args.flow, args.rate, args.seconds)))))


if __name__ == "__main__":
    main()
