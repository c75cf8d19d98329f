"""What `ostinato run` does while it waits on its own embedded stack: a dead service is
restarted (the stack's supervision, said on the console); a dead broker, or a service that
keeps dying, interrupts the run wherever it waits (deploying, requesting, following) with a
message, since the broker kept the topics in memory and the execution cannot finish."""

from __future__ import annotations

import _thread
import os
import threading
from typing import TYPE_CHECKING

from rich.markup import escape

from ostinato.cli.stack import LocalStack, ServiceKeepsDying

if TYPE_CHECKING:
    from rich.console import Console


#: how long the main thread has to end on the interruption before the process exits
GRACE_SECONDS = 3.0


class StackWatchdog:
    """Checks the stack every `every` seconds from a thread of its own; when it cannot go
    on, sets `failure` and interrupts the main thread (a KeyboardInterrupt there, which the
    run turns into its error). `stop()` before stopping the stack."""

    def __init__(self, stack: LocalStack, console: Console, every: float = 0.5) -> None:
        self.failure: str | None = None
        self._stack = stack
        self._console = console
        self._every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stack-watchdog", daemon=True)

    def start(self) -> StackWatchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stopped.wait(self._every):
            failure = self._check()
            if failure is not None:
                self.failure = failure
                _thread.interrupt_main()
                self._exit_if_stuck()
                return

    def _exit_if_stuck(self) -> None:
        """The interruption reaches the main thread only between Python steps: a client call
        waiting on the dead broker (metadata, a delivery) holds it for its own timeout, up to
        30 s. Past `GRACE_SECONDS`, say why, stop the stack and exit."""
        if self._stopped.wait(GRACE_SECONDS):
            return  # the run ended on the interruption
        self._console.print(f"[red]error:[/red] {escape(self.failure or '')}", highlight=False)
        self._stack.stop(timeout=2.0)  # services that cannot flush to a dead broker
        os._exit(1)

    def _check(self) -> str | None:
        if not self._stack.broker.alive():
            tail = self._stack.broker.log_tail(5).strip()
            return ("the embedded broker stopped, so this run cannot finish"
                    + (f"; its last log lines:\n{tail}" if tail else ""))
        try:
            for line in self._stack.supervise():
                self._console.print(f"[yellow]{escape(line)}[/yellow]", highlight=False)
        except ServiceKeepsDying as error:
            return str(error)
        return None
