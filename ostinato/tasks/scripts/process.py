"""Run one command as a local process group, streaming its output line by line.

The process starts in a new session, so stopping it (timeout, cancellation) reaches every
process it started: SIGTERM to the group, then SIGKILL `kill_grace` seconds later. Both
pipes are read with a selector on the calling thread, so a chatty process never blocks on
a full pipe and the line callbacks are never called concurrently.
"""

from __future__ import annotations

import os
import pwd
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

#: a line longer than this is cut and emitted in pieces
MAX_LINE_BYTES = 1024 * 1024
#: how often the deadline and the cancel check are looked at while the process is silent
POLL_SECONDS = 0.05
#: how long pipes may stay open after the command exits (a background child holding them)
LEFTOVER_GRACE_SECONDS = 1.0

LineCallback = Callable[[str], None]


class Process(Protocol):
    """What is used of a started command: a `Popen`, or a fork server's `ForkedProcess`."""

    @property
    def pid(self) -> int: ...
    @property
    def stdout(self) -> IO[bytes] | None: ...
    @property
    def stderr(self) -> IO[bytes] | None: ...
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...


@dataclass(frozen=True)
class ProcessUser:
    """The account a script runs as, when the worker runs as root and one is configured
    (OSTINATO_SCRIPT_USER): the script then cannot read the worker's /proc/<pid>/environ
    nor its credential files."""

    name: str
    uid: int
    gid: int


def process_user_named(name: str | None) -> ProcessUser | None:
    """The account `name` as a ProcessUser; None when no name is given or this process is
    not root (only root may switch users). KeyError naming it when there is no such user."""
    if not name:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise KeyError(f"the script user `{name}` does not exist on this machine") from None
    if os.geteuid() != 0:
        return None
    return ProcessUser(name, entry.pw_uid, entry.pw_gid)


def hand_over(root: Path, user: ProcessUser) -> None:
    """Make the workspace under `root` the script user's (the worker, root, still reads it)."""
    os.chown(root, user.uid, user.gid)
    for path in root.rglob("*"):
        os.chown(path, user.uid, user.gid, follow_symlinks=False)


@dataclass
class ProcessResult:
    """How the process ended.

    `exit_code` is the shell's convention (128 + signal number for a process killed by a
    signal). `stopped` is None when the process ended by itself, else why it was stopped:
    `"timeout"` or `"cancelled"`. `leftovers_killed` says that processes still holding the
    output pipes after the command ended were killed.
    """

    exit_code: int
    stopped: str | None = None
    leftovers_killed: bool = False


class _LineSplitter:
    """Bytes in, decoded lines (without their end of line) out."""

    def __init__(self, emit: LineCallback) -> None:
        self._emit = emit
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            self._send(line)
        while len(self._buffer) > MAX_LINE_BYTES:
            piece, self._buffer = self._buffer[:MAX_LINE_BYTES], self._buffer[MAX_LINE_BYTES:]
            self._send(piece)

    def close(self) -> None:
        if self._buffer:
            line, self._buffer = self._buffer, b""
            self._send(line)

    def _send(self, line: bytes) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        self._emit(line.decode("utf-8", errors="replace"))


class _Group:
    """The process group of a command started with `start_new_session=True`."""

    def __init__(self, process: Process, kill_grace: float) -> None:
        self.process = process
        self.kill_grace = kill_grace
        self.term_sent_at: float | None = None
        self.kill_sent_at: float | None = None

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, now: float) -> None:
        if self.term_sent_at is None:
            self.term_sent_at = now
            self.signal(signal.SIGTERM)

    def escalate(self, now: float) -> None:
        """SIGKILL the group once the grace after SIGTERM is over."""
        if (
            self.term_sent_at is not None
            and self.kill_sent_at is None
            and now - self.term_sent_at >= self.kill_grace
        ):
            self.kill_sent_at = now
            self.signal(signal.SIGKILL)


def exit_code_of(returncode: int) -> int:
    """A Popen return code as a shell reports it (-9 -> 137)."""
    return 128 - returncode if returncode < 0 else returncode


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    on_stdout: LineCallback,
    on_stderr: LineCallback,
    timeout: float | None = None,
    cancelled: Callable[[], bool] | None = None,
    kill_grace: float = 2.0,
    user: ProcessUser | None = None,
    fork: Callable[[], Process | None] | None = None,
) -> ProcessResult:
    """Run `argv` in `cwd` with exactly `env`, calling back once per output line; as
    `user` (its uid, gid and no supplementary group) when given. `fork`, when given and
    when it returns a process, starts the same command another way (the fork server).

    Stops the process group when `timeout` seconds have passed or `cancelled()` turns
    true. Raises OSError when the program cannot be started. An exception raised by a
    callback kills the group and propagates.
    """
    process = (fork() if fork is not None else None) or _popen(argv, cwd, env, user)
    return _follow(process, on_stdout, on_stderr, timeout, cancelled, kill_grace)


def _popen(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], user: ProcessUser | None
) -> Process:
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
        user=None if user is None else user.uid,
        group=None if user is None else user.gid,
        extra_groups=None if user is None else [],
    )


def _follow(
    process: Process, on_stdout: LineCallback, on_stderr: LineCallback,
    timeout: float | None, cancelled: Callable[[], bool] | None, kill_grace: float,
) -> ProcessResult:
    group = _Group(process, kill_grace)
    assert process.stdout is not None and process.stderr is not None
    splitters = {
        process.stdout.fileno(): _LineSplitter(on_stdout),
        process.stderr.fileno(): _LineSplitter(on_stderr),
    }
    selector = selectors.DefaultSelector()
    finished = False
    try:
        for fd in splitters:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        started = time.monotonic()
        stopped: str | None = None
        leftovers = False
        exited_at: float | None = None

        while True:
            if selector.get_map():
                for key, _ in selector.select(POLL_SECONDS):
                    fd = key.fd
                    try:
                        data = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    if data:
                        splitters[fd].feed(data)
                    else:
                        selector.unregister(fd)
                        splitters[fd].close()
            else:
                # Pipes are closed: wait for the exit itself, without sleeping past it.
                try:
                    process.wait(POLL_SECONDS)
                except subprocess.TimeoutExpired:
                    pass

            now = time.monotonic()
            if exited_at is None and process.poll() is not None:
                exited_at = now
            if exited_at is not None and not selector.get_map():
                break
            if stopped is None and group.term_sent_at is None:
                if timeout is not None and now - started >= timeout:
                    stopped = "timeout"
                    group.terminate(now)
                elif cancelled is not None and cancelled():
                    stopped = "cancelled"
                    group.terminate(now)
                elif exited_at is not None and now - exited_at >= LEFTOVER_GRACE_SECONDS:
                    leftovers = True
                    group.terminate(now)
            group.escalate(now)
            if group.kill_sent_at is not None and now - group.kill_sent_at >= 1.0:
                break  # something outside the group holds the pipes: stop reading
        for splitter in splitters.values():
            splitter.close()
        returncode = process.wait()
        finished = True
        return ProcessResult(exit_code_of(returncode), stopped, leftovers)
    finally:
        selector.close()
        if not finished:
            group.signal(signal.SIGKILL)
            process.wait()
        process.stdout.close()
        process.stderr.close()
