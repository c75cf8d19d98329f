"""Task type registry: Kestra type names (and their old aliases) to task model classes.

A plugin extends it with `register_task(MyTask, "com.example.MyTask")`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ostinato.flow.tasks import Task

_TYPES: dict[str, type[Task]] = {}


class UnknownTaskType(LookupError):
    """A `type` that no registered task class answers to."""


def register_task(cls: type[Task], *names: str) -> type[Task]:
    """Register `cls` under each of `names` (its canonical Kestra name first)."""
    if not names:
        raise ValueError(f"{cls.__name__} needs at least one type name")
    for name in names:
        _TYPES[name] = cls
    if not getattr(cls, "type_name", None) or cls.type_name not in names:
        cls.type_name = names[0]
    return cls


def resolve_task_type(name: str) -> type[Task]:
    """The task class registered under `name`, or UnknownTaskType."""
    try:
        return _TYPES[name]
    except KeyError:
        raise UnknownTaskType(f"unknown task type `{name}`") from None


def known_task_types() -> list[str]:
    """Every registered type name, sorted."""
    return sorted(_TYPES)
