"""A flow's SLAs, as Kestra's executor checks them (ExecutorService.handleExecutionChangedSLA,
processViolation; JdbcExecutor's SLA monitors):

- MAX_DURATION: a timer set when the execution is created, at its creation plus
  `duration`; if the execution has not ended when it fires, the SLA is violated.
- EXECUTION_ASSERTION: `assert` is rendered each time an unfinished, started execution
  changes (after each event); falsy means violated. Only the first violation acts.

A violation logs a WARN; FAIL ends the execution FAILED (with an ERROR saying why), CANCEL
ends it CANCELLED (what still runs is stopped), NONE changes no state; `labels` are added
to the execution's. Time comes only from the events (a timer firing).
"""

from __future__ import annotations

from datetime import timedelta

from ostinato.decider.base import DeciderBase
from ostinato.decider.context import base_context
from ostinato.decider.results import parse_instant
from ostinato.execution.states import StateType
from ostinato.expressions import ExpressionError, is_truthy, render_value
from ostinato.flow.durations import parse_duration
from ostinato.flow.model import Sla

#: timers of MAX_DURATION SLAs are `sla/<index in the flow's sla list>`
TIMER_PREFIX = "sla/"
#: what was already reported (`violated/<index>`, `error/<index>`), kept in the progress's JSON
VIOLATED = "slaViolated"
BEHAVIOR_STATES = {"FAIL": StateType.FAILED, "CANCEL": StateType.CANCELLED}


def java_duration(delta: timedelta) -> str:
    """A duration as Java's Duration.toString writes it, truncated to milliseconds."""
    millis = int(delta.total_seconds() * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, ms = divmod(rest, 1000)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or ms or text == "PT":
        text += f"{seconds}.{ms:03d}".rstrip("0").rstrip(".") + "S"
    return text


class Slas(DeciderBase):
    def arm_slas(self) -> None:
        """Set the timer of every MAX_DURATION SLA of a just created execution."""
        created = parse_instant(self.ex.state.histories[0].date)
        for index, sla in enumerate(self.flow.sla):
            if sla.type == "MAX_DURATION" and sla.duration is not None:
                self.set_timer(f"{TIMER_PREFIX}{index}", created + parse_duration(sla.duration), None)

    def on_sla_timer(self, kind: str) -> None:
        """A MAX_DURATION SLA's deadline passed with the execution still unfinished."""
        index = int(kind[len(TIMER_PREFIX):])
        if self.ex.state.terminal or index >= len(self.flow.sla):
            return
        sla = self.flow.sla[index]
        elapsed = self.now - parse_instant(self.ex.state.histories[0].date)
        self._violated(index, sla, f"execution duration of {java_duration(elapsed)} exceed "
                                   f"the maximum duration of {sla.duration}.")

    def check_assertions(self) -> None:
        """Render every EXECUTION_ASSERTION of a started, unfinished execution; the first
        one violated acts, the others are only reported."""
        ex = self.ex
        state = ex.state.current
        if state.is_terminal or state.is_created or state.is_queued:
            return
        context = base_context(self.flow, ex, self.settings, self.now)
        acted = False
        for index, sla in enumerate(self.flow.sla):
            if sla.type != "EXECUTION_ASSERTION" or sla.assert_ is None:
                continue
            try:
                holds = is_truthy(str(render_value(sla.assert_, context)))
            except ExpressionError as error:
                # WARN, not Kestra's ERROR: an output not there yet is common and is no failure
                self._report_once(f"error/{index}", "WARN",
                                  f"Ignoring SLA '{sla.id}' because of the error: {error}")
                continue
            if holds:
                continue
            reason = f"assertion is false: {sla.assert_}."
            if acted:
                self._report_once(f"violated/{index}", "WARN", f"SLA '{sla.id}' violated: {reason}")
            else:
                acted = True
                self._violated(index, sla, reason)
            if ex.state.terminal:
                return

    def _violated(self, index: int, sla: Sla, reason: str) -> None:
        self._report_once(f"violated/{index}", "WARN", f"SLA '{sla.id}' violated: {reason}")
        state = BEHAVIOR_STATES.get(sla.behavior)
        labels = {str(k): v for k, v in (sla.labels or {}).items()}
        if labels and any(self.ex.labels.get(k) != v for k, v in labels.items()):
            self.ex.labels.update(labels)
        if state is StateType.FAILED:
            self.log(None, "ERROR", f"Execution failed due to SLA '{sla.id}' violated: {reason}")
        if state is not None:
            self.terminate(state, None)

    def _report_once(self, key: str, level: str, message: str) -> None:
        """Log a violation the first time it is seen (an assertion is checked after every
        event of the execution)."""
        progress = self.ex.progress
        extra = progress.extra if progress.extra is not None else {}
        seen = extra.setdefault(VIOLATED, [])
        if key in seen:
            return
        seen.append(key)
        progress.extra = extra
        self.log(None, level, message)
