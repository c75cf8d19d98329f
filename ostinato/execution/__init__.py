"""Executions and task runs, shaped like Kestra's execution JSON."""

from ostinato.execution.model import Attempt, Execution, History, State, TaskRun, Timer

__all__ = ["Attempt", "Execution", "History", "State", "TaskRun", "Timer"]
