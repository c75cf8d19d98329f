"""Executions and task runs, shaped like Kestra's execution JSON."""

from ostinato.execution.model import Attempt, Execution, History, State, TaskRun, Timer
from ostinato.execution.progress import ExecutionProgress, Phase, TaskRunProgress, ended_from_header
from ostinato.execution.states import StateType

__all__ = ["Attempt", "Execution", "ExecutionProgress", "History", "Phase", "State", "StateType",
           "TaskRun", "TaskRunProgress", "Timer", "ended_from_header"]
