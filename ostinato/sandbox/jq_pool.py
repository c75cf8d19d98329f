"""jq programs from flows, run in a small pool of sandbox processes.

jq is C code: a thread running it cannot be interrupted, and an allocation failure aborts
the whole process. So jq never runs in a service's process: each call goes to a child
(`_jq_child`) started lazily and reused, with an empty environment (no `$ENV`, no `env`),
an empty working directory, an address-space limit and a CPU backstop. A call over its
time budget kills its child (reaped at once) and a fresh one is started for the next
call; a child that dies (memory) is replaced the same way. Before a program is sent,
`check_program` refuses the directives and builtins that reach the file system.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .jq_program import check_program
from .limits import SETTINGS, BudgetExceeded, describe_bytes, describe_seconds, limits

_CHILD = Path(__file__).with_name("_jq_child.py")
#: how a child ends when jq cannot allocate (abort) or Python cannot (MemoryError exit)
_OUT_OF_MEMORY = frozenset({-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS, 1})


class JqError(ValueError):
    """The program is invalid or failed on its input (jq's own message)."""


class _Child:
    """One sandbox process and the memory budget it was started with."""

    def __init__(self, memory: int, directory: str) -> None:
        self.memory = memory
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(_CHILD), str(memory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={}, cwd=directory, close_fds=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL and reap: nothing of this child is left running."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()

    def wait_exit(self) -> int:
        """The exit status of a child whose pipe closed (negative: the signal that ended it)."""
        try:
            return self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode

    def exchange(self, request: bytes, deadline: float, max_answer: int) -> Any:
        """Send `request`, wait for the answer until `deadline`; TimeoutError past it,
        EOFError when the child died, OverflowError when the answer is too large."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(struct.pack(">I", len(request)) + request)
        self.process.stdin.flush()
        fd = self.process.stdout.fileno()
        header = self._read(fd, 4, deadline)
        size = struct.unpack(">I", header)[0]
        if size > max_answer:
            raise OverflowError(size)
        return json.loads(self._read(fd, size, deadline))

    @staticmethod
    def _read(fd: int, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


class JqPool:
    """At most `Limits.jq_processes` sandbox children, started on demand and reused."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._directory: str | None = None

    def children(self) -> list[int]:
        """The pids of the children alive now (idle or running a program)."""
        with self._condition:
            return [c.pid for c in [*self._idle, *self._busy] if c.process.poll() is None]

    def run(self, program: str, data_json: str, timeout: float | None = None) -> list[Any]:
        """Every result of jq `program` on the JSON text `data_json`.

        Raises JqError (jq's message), or BudgetExceeded naming the jq time or memory limit,
        or the render output limit when the results are larger than it."""
        check_program(program)
        budget = limits()
        render_bound = timeout is not None and timeout < budget.jq_timeout
        seconds = min(timeout, budget.jq_timeout) if timeout is not None else budget.jq_timeout
        deadline = time.monotonic() + max(seconds, 0.0)
        request = json.dumps([program, data_json, seconds]).encode()
        answer = self._exchange(request, deadline, program, seconds, render_bound)
        return self._results(answer, program, budget.jq_memory)

    def _exchange(self, request: bytes, deadline: float, program: str, seconds: float,
                  render_bound: bool) -> Any:
        budget = limits()
        for attempt in (1, 2):
            child = self._acquire(budget.jq_memory, deadline, program, seconds, render_bound)
            try:
                return self._exchange_with(child, request, deadline, program, seconds,
                                           render_bound)
            except BrokenPipeError:  # the child had died (killed from outside): a new one
                if attempt == 2:
                    raise self._over_memory(program, budget.jq_memory) from None
        raise AssertionError("unreachable")

    def _exchange_with(self, child: _Child, request: bytes, deadline: float, program: str,
                       seconds: float, render_bound: bool) -> Any:
        budget = limits()
        healthy = False
        try:
            answer = child.exchange(request, deadline, budget.render_max_output)
            healthy = True
        except TimeoutError:
            raise self._over_time(program, seconds, render_bound) from None
        except EOFError:
            died_of = child.wait_exit()
            if died_of in _OUT_OF_MEMORY:  # jq aborts when an allocation fails
                raise self._over_memory(program, budget.jq_memory) from None
            if died_of == -signal.SIGXCPU:
                raise self._over_time(program, seconds, render_bound) from None
            raise BrokenPipeError from None  # died of something else: try a fresh child
        except OverflowError as size:
            raise BudgetExceeded(
                f"the results of the jq program `{program}` are {size} bytes, more than the "
                f"limit of {budget.render_max_output} ({SETTINGS['render_max_output']})"
            ) from None
        finally:
            self._release(child, healthy)
        return answer

    def _results(self, answer: Any, program: str, memory: int) -> list[Any]:
        status, payload = answer
        if status == "ok":
            return list(payload)
        if status == "memory":
            raise self._over_memory(program, memory)
        raise JqError(str(payload))

    @staticmethod
    def _over_time(program: str, seconds: float, render_bound: bool) -> BudgetExceeded:
        if render_bound:
            render_limit = describe_seconds(limits().render_timeout)
            return BudgetExceeded(
                f"the jq program `{program}` ran past the template time limit of "
                f"{render_limit} ({SETTINGS['render_timeout']}) of its render"
            )
        return BudgetExceeded(
            f"the jq program `{program}` exceeded the jq time limit of "
            f"{describe_seconds(seconds)} ({SETTINGS['jq_timeout']})"
        )

    @staticmethod
    def _over_memory(program: str, memory: int) -> BudgetExceeded:
        return BudgetExceeded(
            f"the jq program `{program}` exceeded the jq memory limit of "
            f"{describe_bytes(memory)} ({SETTINGS['jq_memory']})"
        )

    def _acquire(self, memory: int, deadline: float, program: str, budget_seconds: float,
                 render_bound: bool) -> _Child:
        with self._condition:
            while True:
                while self._idle:
                    child = self._idle.pop()
                    if child.memory == memory and child.process.poll() is None:
                        self._busy.add(child)
                        return child
                    child.kill()  # dead, or started under another memory budget
                if len(self._busy) < limits().jq_processes:
                    child = _Child(memory, self._workdir())
                    self._busy.add(child)
                    return child
                remaining = deadline - time.monotonic()
                if remaining <= 0:  # every sandbox process stayed busy until the deadline
                    raise self._over_time(program, budget_seconds, render_bound)
                self._condition.wait(remaining)

    def _release(self, child: _Child, healthy: bool) -> None:
        if not healthy:
            child.kill()
        with self._condition:
            self._busy.discard(child)
            if healthy:
                self._idle.append(child)
            self._condition.notify()

    def _workdir(self) -> str:
        if self._directory is None:
            self._directory = tempfile.mkdtemp(prefix="ostinato-jq-")
        return self._directory

    def shutdown(self) -> None:
        """Kill every child (idle and busy) and remove the working directory."""
        with self._condition:
            children = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            directory, self._directory = self._directory, None
        for child in children:
            child.kill()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


POOL = JqPool()
atexit.register(POOL.shutdown)


def run_jq(program: str, data_json: str, timeout: float | None = None) -> list[Any]:
    """`JqPool.run` on the process-wide pool."""
    return POOL.run(program, data_json, timeout)
