"""Whether a TCP port can be bound, and which process listens on it (Linux `/proc`)."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path


class PortInUse(RuntimeError):
    """A port the stack needs is taken by another process."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when `host:port` could be bound now (SO_REUSEADDR, like the servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on TCP `port` (IPv4 or IPv6), None when nobody
    does or it cannot be told (not Linux, another user's process)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (pid_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return int(pid_dir.name)
    return None


def describe_holder(port: int) -> str:
    """'port 8080 is in use by pid 123 (python -m http.server)', or without the holder."""
    pid = listening_pid(port)
    if pid is None:
        return f"port {port} is in use"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        command = "?"
    return f"port {port} is in use by pid {pid} ({command[:120]})"


def check_free(port: int, host: str = "127.0.0.1") -> None:
    """Raise PortInUse, naming the port and its holder, when `port` cannot be bound."""
    if not port_is_free(port, host):
        raise PortInUse(describe_holder(port))


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(inode)
    return inodes

