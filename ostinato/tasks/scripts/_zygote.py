"""The fork server of Python script tasks (its worker side is `fork_server`).

Run as `python _zygote.py <control fd>` by the worker, with the environment variables that
shape an interpreter's start-up (PYTHON*, the locale, HOME for the user site) and nothing
else. It imports only the few modules it needs and waits on the control socket. For each
request (a message carrying a connection and the write ends of the stdout and stderr pipes)
it forks a child that becomes what `python <file> args...` would have been: its own
session, the request's user, working directory and environment, the pipes as fds 1 and 2,
no other descriptor, only the modules a fresh interpreter has imported, and the script run
as `__main__`. The child tells the worker its pid on the connection; the server reaps the
child (a pidfd per child) and writes its wait status on the same connection.

The connection protocol: worker -> child, a 4-byte big-endian length and a JSON request
`{"argv", "orig_argv", "cwd", "env", "executable", "uid", "gid"}`; child -> worker, one JSON line
`{"pid": n}` or `{"error": "..."}`; server -> worker, one JSON line `{"status": n}`.
Stdlib only: this file runs outside the ostinato package.
"""

import sys

#: what a fresh `python script.py` has imported by now; the rest is dropped in a child so
#: that a script's own `json.py` (say) shadows the standard module as it would
_BASELINE = frozenset(sys.modules)
sys.path.pop(0)  # this file's directory, put first by `python _zygote.py`; a child puts its script's

import gc  # noqa: E402  (after the baseline, on purpose)
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402
from types import ModuleType  # noqa: E402  (imported at start-up already)

#: a request's fds: the connection, stdout's write end, stderr's write end
_FDS_PER_REQUEST = 3
#: a request's size limit (the environment is in it)
_MAX_REQUEST = 64 * 1024 * 1024
_STARTED_BY_COERCION = os.environ.get("LC_CTYPE")  # Python's C-locale coercion sets it


class Job:
    """What a forked child received: its connection and output pipes."""

    def __init__(self, conn: socket.socket, stdout: int, stderr: int) -> None:
        self.conn = conn
        self.stdout = stdout
        self.stderr = stderr


def serve(control_fd: int) -> Job:
    """Fork one child per request; returns only in a child, with its job."""
    control = socket.socket(fileno=control_fd)
    os.close(os.pidfd_open(os.getpid()))  # children are watched by pidfd: Linux 5.3 or later
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    poller = select.poll()
    poller.register(control.fileno(), select.POLLIN)
    accepting = True
    # The server's objects are never collected: no collection (in the server or a child,
    # whose exit collects) walks them, and a child's pages stay shared with the server.
    gc.freeze()
    while accepting or children:
        for fd, _ in poller.poll():
            if fd == control.fileno():
                try:
                    job = _receive(control)
                except EOFError:  # the worker is gone: finish the running children, then end
                    accepting = False
                    poller.unregister(fd)
                    continue
                if job is not None:
                    child = _fork(job, children, poller)
                    if child is not None:
                        return child
            else:
                poller.unregister(fd)
                _report_exit(fd, children)
    raise SystemExit(0)


def _receive(control: socket.socket) -> "Job | None":
    """The next request; None for a malformed message; EOFError at end of file."""
    try:
        message, fds, _, _ = socket.recv_fds(control, 16, _FDS_PER_REQUEST + 1)
    except OSError as exc:
        raise EOFError(str(exc)) from exc
    if not message and not fds:
        raise EOFError("the worker closed the control socket")
    if message != b"run" or len(fds) != _FDS_PER_REQUEST:
        for fd in fds:
            os.close(fd)
        return None
    return Job(socket.socket(fileno=fds[0]), fds[1], fds[2])


def _fork(
    job: Job, children: "dict[int, tuple[int, socket.socket]]", poller: "select.poll"
) -> "Job | None":
    """Fork for `job`: the child's job in the child, None in the server."""
    try:
        pid = os.fork()
    except OSError as exc:  # a process limit: this request fails, the server goes on
        pid = -1
        _send(job.conn, {"error": f"cannot fork: {exc.strerror}"})
    if pid == 0:
        return job
    os.close(job.stdout)
    os.close(job.stderr)
    if pid < 0:
        job.conn.close()
        return None
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # out of fds: wait for it now rather than lose its status
        _send(job.conn, {"status": os.waitpid(pid, 0)[1]})
        job.conn.close()
        return None
    children[pidfd] = (pid, job.conn)
    poller.register(pidfd, select.POLLIN)
    return None


def _report_exit(pidfd: int, children: "dict[int, tuple[int, socket.socket]]") -> None:
    pid, conn = children.pop(pidfd)
    os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    _send(conn, {"status": status})
    conn.close()


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the worker stopped listening: nothing to tell


# ----------------------------------------------------------------- in a child


def become(job: Job) -> "list[str]":
    """Set this child up as the request says, then fork the script's process; returns (in
    that process) the script's argv. Like `/bin/sh -c "python <file>"`, the session leader
    (whose pid the worker signals as the group) is a parent that waits for the script and
    exits with its status: a script may call os.setsid() itself, as it would there. Ends
    (127) with an error line to the worker when the set-up fails."""
    os.setsid()  # first: the worker signals the process group named by our pid
    try:
        request = _read_request(job.conn)
        _drop_privileges(request.get("uid"), request.get("gid"))
        os.chdir(request["cwd"])
        _set_environment(request["env"])
        os.dup2(job.stdout, 1)
        os.dup2(job.stderr, 2)
        sys.executable = request["executable"]
        sys.orig_argv = [str(arg) for arg in request.get("orig_argv", [])]
        argv = [str(arg) for arg in request["argv"]]
    except Exception as exc:  # noqa: BLE001  (anything: the worker gets it as the reason)
        _send(job.conn, {"error": f"{type(exc).__name__}: {exc}"})
        os._exit(127)
    try:  # the worker must know the pid before the script runs; if it cannot, no run
        job.conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    except OSError:
        os._exit(127)
    job.conn.detach()  # closed just below: its finaliser must not close a reused fd number
    os.closerange(3, 2**31 - 1)  # the connection, the pipes' copies, the server's fds
    try:
        script = os.fork()
    except OSError as exc:
        os.write(2, f"{sys.executable}: cannot fork: {exc.strerror}\n".encode())
        os._exit(2)
    if script == 0:
        return argv
    _exit_like_a_shell(script)
    raise AssertionError("not reached")


def _exit_like_a_shell(pid: int) -> None:
    """Wait for the script and exit with its code, or 128 + the signal that ended it."""
    try:
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        os._exit(128 - code if code < 0 else code)
    finally:
        os._exit(2)


def _read_request(conn: socket.socket) -> dict:
    conn.settimeout(30)
    size = int.from_bytes(_read_exactly(conn, 4), "big")
    if size > _MAX_REQUEST:
        raise ValueError(f"request of {size} bytes")
    request = json.loads(_read_exactly(conn, size))
    if not isinstance(request, dict):
        raise ValueError("the request is not a JSON object")
    return request


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = conn.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise EOFError("the worker closed the connection")
        chunks += chunk
    return bytes(chunks)


def _drop_privileges(uid: "int | None", gid: "int | None") -> None:
    """Become `uid`/`gid` with no supplementary group, as the subprocess path does."""
    if uid is None:
        return
    os.setgroups([])
    os.setgid(int(gid if gid is not None else uid))
    os.setuid(int(uid))


def _set_environment(env: "dict[str, str]") -> None:
    coerced = os.environ.get("LC_CTYPE") if _STARTED_BY_COERCION else None
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    if coerced is not None and "LC_CTYPE" not in env:
        os.environ["LC_CTYPE"] = coerced


def run(argv: "list[str]") -> None:
    """Run the script `argv[0]` as `python` would; SystemExit carries its exit code."""
    path = argv[0]
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        sys.stderr.write(f"{sys.executable}: can't open file {os.path.abspath(path)!r}: "
                         f"[Errno {exc.errno}] {exc.strerror}\n")
        raise SystemExit(2) from None
    main = _fresh_main(os.path.abspath(path))
    sys.argv = argv
    sys.path.insert(0, os.path.dirname(os.path.realpath(path)))
    for name in set(sys.modules) - _BASELINE:
        del sys.modules[name]
    try:
        code = compile(source, os.path.abspath(path), "exec", dont_inherit=True)
        exec(code, main.__dict__)
    except SystemExit:
        raise  # the interpreter handles it at the top, exactly as for `python script.py`
    except BaseException as exc:  # noqa: BLE001
        _uncaught(exc)


def _fresh_main(path: str) -> "ModuleType":
    loader_class = sys.modules["_frozen_importlib_external"].SourceFileLoader
    main = ModuleType("__main__")
    main.__dict__.update({
        "__file__": path, "__cached__": None, "__loader__": loader_class("__main__", path),
        "__spec__": None, "__package__": None, "__annotations__": {},
        "__builtins__": sys.modules["builtins"],
    })
    sys.modules["__main__"] = main
    return main


def _uncaught(exc: BaseException) -> None:
    """Print the traceback from the script's first frame on, and end as Python does."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)  # the hook prints exc's own
    if isinstance(exc, KeyboardInterrupt):  # Python ends itself with SIGINT then
        import signal  # noqa: PLC0415

        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    raise SystemExit(1)


if __name__ == "__main__":
    run(become(serve(int(sys.argv[1]))))
