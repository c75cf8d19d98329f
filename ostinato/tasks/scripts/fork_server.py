"""Python script tasks without the interpreter's start-up each time: a fork server.

A script task whose whole command is `python <file> [args...]` (a `python.Script`, or a
`python.Commands` of one such line; `set -e` from failFast aside) is not run as
`/bin/sh -c "python <file>"` but forked from a Python process started once per worker
(lazily, at the first such script): `_zygote.py`. Each script still gets a fresh process of
its own: a new session (so a timeout or a kill stops its group), the task's working
directory, environment and user (a root worker with OSTINATO_SCRIPT_USER: the server forks
as root and the child drops to the script user before reading the script), the output
pipes as stdout and stderr, no other descriptor, only the modules a fresh interpreter has
imported, and the same exit status as `python <file>` (SystemExit, a traceback and 1 for an
uncaught exception). Nothing a script does outlives its process.

The server is used only when `python` on the task's PATH is this interpreter and the file
exists. Everything else (beforeCommands, other commands, interpreter options, a container)
takes the shell path. One server serves the environments that start an interpreter the same
way (same PYTHON* variables, locale, user site); a dead server is replaced and the request
retried once, then the shell path is taken. OSTINATO_PYTHON_FORK_SERVER=0 turns it off.
A difference that remains: scripts forked from one server share its hash seed.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any, NoReturn

from ostinato.tasks.scripts.process import ProcessUser

#: the switch: "0" (or false/no/off) runs every script through the shell as before
SWITCH = "OSTINATO_PYTHON_FORK_SERVER"
ZYGOTE = Path(__file__).with_name("_zygote.py")
#: how long the server may take to start a script before the task fails
REPLY_TIMEOUT_SECONDS = 60.0
#: how long scripts take the shell path after a new server failed its first script
BROKEN_PAUSE_SECONDS = 60.0
#: fork servers kept at once (one per way of starting the interpreter)
MAX_SERVERS = 4
#: environment variables besides PYTHON* that change how the interpreter starts
LOCALE_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE")
#: HOME for a server whose scripts have no user site directory
NO_HOME = "/nonexistent"
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"})
_PYTHON_NAMES = frozenset({"python", "python3"})


class ForkServerDown(Exception):
    """The server is gone before it started the script: another may be started."""


class ForkServerLost(Exception):
    """The server ended while its script ran: the script's exit status is lost."""


def enabled() -> bool:
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def plan(
    interpreter: Sequence[str], before: Sequence[str], body: Sequence[str], *,
    env: Mapping[str, str], cwd: Path, shims: Path, user: ProcessUser | None,
) -> Callable[[], ForkedProcess | None] | None:
    """A way to start the task's command through the fork server, or None when the command
    is not exactly `python <file> [args...]` run by this interpreter (or the switch is off).
    The callable returns None when no server can be had: then run the command as usual."""
    if not enabled():
        return None
    argv = python_argv(interpreter, before, body)
    if argv is None:
        return None
    executable = our_python(argv[0], env, shims)
    if executable is None or not (cwd / argv[1]).is_file():
        return None  # another Python, or python's own error for a missing file
    request = {"argv": argv[1:], "orig_argv": argv, "cwd": str(cwd), "env": dict(env), "executable": executable,
               "uid": None if user is None else user.uid,
               "gid": None if user is None else user.gid}
    return partial(spawn, request, startup_environment(env))


def python_argv(
    interpreter: Sequence[str], before: Sequence[str], body: Sequence[str]
) -> list[str] | None:
    """`["python", file, *args]` when the shell would only run that; else None."""
    if len(interpreter) != 2 or interpreter[1] != "-c" or Path(interpreter[0]).name not in _SHELLS:
        return None
    if any(line.strip() != "set -e" for line in before) or len(body) != 1:
        return None
    line = body[0].strip()
    try:
        tokens = shlex.split(line)
    except ValueError:
        return None
    if len(tokens) < 2 or tokens[0] not in _PYTHON_NAMES or tokens[1].startswith("-"):
        return None
    if " ".join(shlex.quote(token) for token in tokens) != line:
        return None  # quoting, variables, globs, redirections...: the shell's business
    return tokens


def our_python(name: str, env: Mapping[str, str], shims: Path) -> str | None:
    """The path `name` resolves to on the task's PATH when that is this interpreter."""
    found = shutil.which(name, path=env.get("PATH", ""))
    if found is None or not sys.executable:
        return None
    if Path(found).parent == shims:  # the runner's shim: `exec <this interpreter>`
        return sys.executable
    try:
        return found if os.path.samefile(found, sys.executable) else None
    except OSError:
        return None


def startup_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The variables of `env` that change how an interpreter starts (a server's own)."""
    startup = {k: v for k, v in env.items() if k.startswith("PYTHON") or k in LOCALE_VARIABLES}
    home = env.get("HOME", "")
    startup["HOME"] = home if home and _user_site(home, env).is_dir() else NO_HOME
    return startup


def _user_site(home: str, env: Mapping[str, str]) -> Path:
    base = env.get("PYTHONUSERBASE") or os.path.join(home, ".local")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return Path(base, "lib", version, "site-packages")


# ----------------------------------------------------------------- servers


_servers: dict[tuple[tuple[str, str], ...], ForkServer] = {}
_servers_lock = threading.Lock()
#: until when (time.monotonic()) scripts take the shell path: a new server failed at once
_broken_until = 0.0


def spawn(request: dict[str, Any], startup: dict[str, str]) -> ForkedProcess | None:
    """Start `request` on the server for `startup`; None when no server works.
    OSError when the script's process could not be set up (its reason)."""
    global _broken_until
    if time.monotonic() < _broken_until:
        return None
    key = tuple(sorted(startup.items()))
    for _ in range(2):  # a server found dead is replaced once
        server = _server(key, startup)
        try:
            process = server.spawn(request)
        except ForkServerDown:
            _discard(key)
            if server.fresh:  # it cannot even start: do not try at every script
                _broken_until = time.monotonic() + BROKEN_PAUSE_SECONDS
                return None
        else:
            server.fresh = False
            return process
    return None


def _server(key: tuple[tuple[str, str], ...], startup: dict[str, str]) -> ForkServer:
    with _servers_lock:
        server = _servers.get(key)
        if server is not None and server.alive():
            return server
        if server is not None:
            server.close()
            del _servers[key]
        while len(_servers) >= MAX_SERVERS:
            _servers.pop(next(iter(_servers))).close()
        try:
            server = ForkServer(sys.executable, startup)
        except OSError as exc:
            raise ForkServerDown(f"cannot start the fork server: {exc}") from exc
        _servers[key] = server
        return server


def _discard(key: tuple[tuple[str, str], ...]) -> None:
    with _servers_lock:
        server = _servers.pop(key, None)
    if server is not None:
        server.close()


def server_pids() -> list[int]:
    """The pids of the running servers (for tests and diagnostics)."""
    with _servers_lock:
        return [s.process.pid for s in _servers.values() if s.alive()]


class ForkServer:
    """One `_zygote.py` process and the socket it takes requests on."""

    def __init__(self, executable: str, startup: dict[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Pipes for its stdout and stderr (nobody reads them): a child then starts with the
        # same stdio objects (not a tty, not seekable) as `python` started on pipes.
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                [executable, str(ZYGOTE), str(theirs.fileno())], pass_fds=[theirs.fileno()],
                env=startup, cwd="/", stdin=subprocess.DEVNULL, stdout=write_end,
                stderr=write_end, start_new_session=True, close_fds=True,
            )
        except OSError:
            ours.close()
            raise
        finally:
            for fd in (read_end, write_end):
                os.close(fd)
            theirs.close()
        ours.settimeout(REPLY_TIMEOUT_SECONDS)
        self.control = ours
        self.fresh = True  # no script started yet

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """Stop taking requests; the server ends once its running scripts have ended."""
        self.control.close()

    def spawn(self, request: dict[str, Any]) -> ForkedProcess:
        conn, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        try:
            try:
                socket.send_fds(self.control, [b"run"], [theirs.fileno(), out_write, err_write])
            finally:
                theirs.close()
                os.close(out_write)
                os.close(err_write)
            conn.settimeout(REPLY_TIMEOUT_SECONDS)
            payload = json.dumps(request).encode()
            conn.sendall(len(payload).to_bytes(4, "big") + payload)
            replies = _Replies(conn)
            first = replies.next(REPLY_TIMEOUT_SECONDS)
        except (OSError, EOFError) as exc:
            for fd in (out_read, err_read):
                os.close(fd)
            conn.close()
            raise self._down(exc) from exc
        if first is None or "pid" not in first:
            for fd in (out_read, err_read):
                os.close(fd)
            conn.close()
            if first is None:
                self.process.kill()  # wedged: it must not start this script late
                raise OSError(f"the Python fork server did not start the script within "
                              f"{REPLY_TIMEOUT_SECONDS:g} s")
            raise OSError(first.get("error") or f"the script's process ended before it ran: {first}")
        return ForkedProcess(int(first["pid"]), out_read, err_read, replies)

    def _down(self, exc: BaseException) -> Exception:
        if isinstance(exc, TimeoutError):
            self.process.kill()
            return OSError(f"the Python fork server did not answer within {REPLY_TIMEOUT_SECONDS:g} s")
        return ForkServerDown(f"the Python fork server is gone ({exc or type(exc).__name__})")


class _Replies:
    """JSON lines read from a connection, with a deadline each."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""

    def next(self, timeout: float | None) -> dict[str, Any] | None:
        """The next reply; None when none came within `timeout`; EOFError at end of file."""
        while b"\n" not in self.buffer:
            poller = select.poll()  # not select(): a worker's fd numbers may pass 1024
            poller.register(self.conn, select.POLLIN)
            if not poller.poll(None if timeout is None else timeout * 1000):
                return None
            data = self.conn.recv(4096)
            if not data:
                raise EOFError("the connection to the fork server was closed")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        reply = json.loads(line)
        return reply if isinstance(reply, dict) else {"error": f"unexpected reply {line!r}"}


class ForkedProcess:
    """A script's process started by a fork server, with the parts of `Popen` that
    `run_process` uses: pid, stdout, stderr, poll(), wait(timeout). Its session id is its
    pid, as with `start_new_session`. Its exit status comes from the server."""

    def __init__(self, pid: int, stdout: int, stderr: int, replies: _Replies) -> None:
        self.pid = pid
        self.stdout: IO[bytes] = os.fdopen(stdout, "rb", buffering=0)
        self.stderr: IO[bytes] = os.fdopen(stderr, "rb", buffering=0)
        self.returncode: int | None = None
        self._replies = replies

    def poll(self) -> int | None:
        if self.returncode is None:
            self._await_status(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._await_status(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(["python", str(self.pid)], timeout or 0)
        return self.returncode

    def _await_status(self, timeout: float | None) -> None:
        try:
            reply = self._replies.next(timeout)
        except (OSError, EOFError, ValueError):
            self._lose()
        if reply is None:
            return
        if "status" not in reply:
            return  # nothing else is expected after the pid: wait for the status
        self.returncode = os.waitstatus_to_exitcode(int(reply["status"]))
        self._replies.conn.close()

    def _lose(self) -> NoReturn:
        """The server died: its child cannot be waited on any more, so it is killed."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.returncode = -signal.SIGKILL
        self._replies.conn.close()
        raise ForkServerLost("the Python fork server ended while the script ran: the script "
                             "was killed and its exit code is unknown")
