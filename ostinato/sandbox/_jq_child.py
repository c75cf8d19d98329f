"""The jq sandbox process (run by `jq_pool`; stdlib and `jq` only, nothing of ostinato).

Started with an empty environment (`$ENV` and `env` see nothing) in an empty directory,
it limits its own address space to what it maps after importing jq plus the memory budget
(argv[1], bytes), then answers requests on stdin until stdin closes. A request and an
answer are a 4-byte big-endian length and a JSON array: [program, input JSON text,
CPU seconds] -> ["ok", [results]] or ["error", message]. jq aborts the process when it
cannot allocate: the parent sees the pipe close and reports the memory limit.
"""

from __future__ import annotations

import json
import math
import os
import resource
import struct
import sys
from collections import OrderedDict
from typing import Any

import jq

CACHE_SIZE = 128


def _read_exact(size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(0, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _write(message: Any) -> None:
    data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    view = memoryview(struct.pack(">I", len(data)) + data)
    while view:
        view = view[os.write(1, view):]


def _limit_memory(budget: int) -> None:
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (mapped + budget, mapped + budget))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _limit_cpu(seconds: float) -> None:
    """SIGXCPU once this request has used `seconds` of CPU: a backstop for a parent that
    died mid-request (the parent's own wall-clock limit is what normally stops jq)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + seconds) + 1, resource.RLIM_INFINITY))


def _answer(cache: OrderedDict[str, Any], program: str, data: str) -> Any:
    compiled = cache.get(program)
    if compiled is None:
        try:
            compiled = jq.compile(program)
        except ValueError as error:
            return ["error", f"Invalid jq expression '{program}': {error}"]
        cache[program] = compiled
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(program)
    try:
        return ["ok", list(compiled.input_text(data).all())]
    except ValueError as error:
        return ["error", str(error)]


def main() -> None:
    for name in list(os.environ):  # Python sets LC_CTYPE itself; jq's $ENV must be empty
        del os.environ[name]
    _limit_memory(int(sys.argv[1]))
    cache: OrderedDict[str, Any] = OrderedDict()
    while True:
        header = _read_exact(4)
        if header is None:
            return
        body = _read_exact(struct.unpack(">I", header)[0])
        if body is None:
            return
        program, data, cpu_seconds = json.loads(body)
        _limit_cpu(cpu_seconds)
        try:
            answer = _answer(cache, program, data)
            _write(answer)
        except MemoryError:
            _write(["memory", ""])
        except ValueError as error:  # NaN or infinity in a result: not JSON
            _write(["error", f"the jq result cannot be written as JSON: {error}"])


if __name__ == "__main__":
    main()
