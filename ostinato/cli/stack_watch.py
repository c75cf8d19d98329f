"""What `ostinato run` checks while it waits on its own embedded stack."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.markup import escape

from ostinato.cli.stack import LocalStack, ServiceKeepsDying

if TYPE_CHECKING:
    from rich.console import Console


class StackFailed(RuntimeError):
    """The embedded stack of a run cannot go on (its broker stopped, a service keeps dying)."""


def stack_watch(stack: LocalStack, console: Console, every: float = 0.5) -> Callable[[], None]:
    """A check for `BusClient.follow` while a run waits on its own embedded stack: a dead
    service is restarted (the stack's supervision, said on the console); a dead broker, or a
    service that keeps dying, ends the wait with StackFailed (the broker kept the topics in
    memory: the execution cannot finish)."""
    checked = [0.0]

    def check() -> None:
        now = time.monotonic()
        if now - checked[0] < every:
            return
        checked[0] = now
        if not stack.broker.alive():
            tail = stack.broker.log_tail(5).strip()
            raise StackFailed("the embedded broker stopped, so this run cannot finish"
                              + (f"; its last log lines:\n{tail}" if tail else ""))
        try:
            for line in stack.supervise():
                console.print(f"[yellow]{escape(line)}[/yellow]", highlight=False)
        except ServiceKeepsDying as error:
            raise StackFailed(str(error)) from error

    return check
