"""Kestra's states of an execution, a task run and an attempt, with their predicates.

`StateType` is a `StrEnum`: a member equals, hashes and serialises as its name, so JSON,
Avro and a state read back as plain text all compare as before.
"""

from __future__ import annotations

from enum import StrEnum


class StateType(StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTED = "RESTARTED"
    KILLING = "KILLING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    QUEUED = "QUEUED"
    RETRYING = "RETRYING"
    RETRIED = "RETRIED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        """No state follows (but a restart): SUCCESS, WARNING, FAILED, KILLED, CANCELLED,
        SKIPPED, RETRIED."""
        return self in TERMINAL_STATES

    @property
    def is_failed(self) -> bool:
        """FAILED, KILLED or CANCELLED: a failure for the flowable or flow that holds it."""
        return self in FAILED_STATES

    @property
    def is_successful(self) -> bool:
        """SUCCESS, WARNING or SKIPPED: ended without failing."""
        return self in _SUCCESSFUL

    @property
    def is_running(self) -> bool:
        """Started and not yet ended nor waiting: RUNNING, RESTARTED, KILLING, RETRYING."""
        return self in _RUNNING

    @property
    def is_paused(self) -> bool:
        return self is StateType.PAUSED

    @property
    def is_created(self) -> bool:
        return self is StateType.CREATED

    @property
    def is_queued(self) -> bool:
        return self is StateType.QUEUED

    @property
    def is_killed(self) -> bool:
        """KILLING or KILLED: a kill is under way or done."""
        return self in KILLED_STATES

    @property
    def severity(self) -> int:
        """How bad an outcome is when children's states are combined (higher is worse)."""
        return _SEVERITY.get(self, 0)


TERMINAL_STATES = frozenset({
    StateType.SUCCESS, StateType.WARNING, StateType.FAILED, StateType.KILLED,
    StateType.CANCELLED, StateType.SKIPPED, StateType.RETRIED,
})
FAILED_STATES = frozenset({StateType.FAILED, StateType.KILLED, StateType.CANCELLED})
_SUCCESSFUL = frozenset({StateType.SUCCESS, StateType.WARNING, StateType.SKIPPED})
_RUNNING = frozenset({StateType.RUNNING, StateType.RESTARTED, StateType.KILLING,
                      StateType.RETRYING})
KILLED_STATES = frozenset({StateType.KILLING, StateType.KILLED})
ALL_STATES = tuple(StateType)

#: the order of severity used to combine children: SUCCESS = SKIPPED < WARNING < CANCELLED
#: < KILLED < FAILED
_SEVERITY: dict[str, int] = {
    StateType.SUCCESS: 0, StateType.SKIPPED: 0, StateType.WARNING: 1,
    StateType.CANCELLED: 2, StateType.KILLED: 3, StateType.FAILED: 4,
}


_BY_NAME: dict[str, StateType] = {state.value: state for state in StateType}


def state_of(text: str) -> StateType:
    """The state named `text` (as records and events carry it); a cheap lookup, unlike
    `StateType(text)`. Raises ValueError for an unknown name."""
    try:
        return _BY_NAME[text]
    except KeyError:
        raise ValueError(f"{text!r} is not a state") from None


def worse(a: StateType, b: StateType) -> StateType:
    """The more severe of two outcomes (`a` on a tie)."""
    return a if _SEVERITY.get(a, 0) >= _SEVERITY.get(b, 0) else b


def is_terminal(state: str) -> bool:
    """`state` (a member or its text, as a record carries it) is terminal."""
    return state in TERMINAL_STATES


__all__ = ["ALL_STATES", "FAILED_STATES", "KILLED_STATES", "TERMINAL_STATES", "StateType", "is_terminal", "state_of",
           "worse"]
