"""The flow language: models, task registry, parsing and validation."""

from ostinato.flow.model import Flow
from ostinato.flow.registry import register_task, resolve_task_type
from ostinato.flow.tasks import Task

__all__ = ["Flow", "Task", "register_task", "resolve_task_type"]
