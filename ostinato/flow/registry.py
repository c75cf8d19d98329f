"""Type registries: Kestra type names (and their old aliases) to model classes.

Tasks, triggers and conditions each have one; a plugin extends them, e.g.
`register_task(MyTask, "com.example.MyTask")`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ostinato.flow.tasks import Task

T = TypeVar("T")


class UnknownType(LookupError):
    """A `type` that no registered class answers to."""


class UnknownTaskType(UnknownType):
    pass


class TypeRegistry(Generic[T]):
    """Names to classes for one kind of plugin (`task`, `trigger`, `condition`)."""

    def __init__(self, kind: str, error: type[UnknownType] = UnknownType) -> None:
        self.kind = kind
        self._error = error
        self._classes: dict[str, type[T]] = {}

    def register(self, cls: type[T], *names: str) -> type[T]:
        """Register `cls` under each of `names`, its canonical Kestra name first."""
        if not names:
            raise ValueError(f"{cls.__name__} needs at least one type name")
        for name in names:
            self._classes[name] = cls
        target: Any = cls
        if getattr(target, "type_name", None) not in names:
            target.type_name = names[0]
        return cls

    def resolve(self, name: str) -> type[T]:
        found = self._classes.get(name)
        if found is None and self._load_plugins():
            found = self._classes.get(name)
        if found is None:
            raise self._error(self.unknown_message(name))
        return found

    def unknown_message(self, name: str) -> str:
        """Why `name` is refused, with what to use instead for a well-known task type."""
        message = f"unknown {self.kind} type `{name}`"
        if self.kind != "task":
            return message
        from ostinato.flow.alternatives import with_suggestion

        return with_suggestion(message, name)

    def known(self) -> list[str]:
        self._load_plugins()
        return sorted(self._classes)

    def _load_plugins(self) -> bool:
        """Load the plugins' entry points (once per process); whether this registry has any."""
        if self.kind != "task":
            return False
        from ostinato.plugins import ensure_plugins_loaded

        ensure_plugins_loaded()
        return True


TASKS: TypeRegistry[Task] = TypeRegistry("task", UnknownTaskType)


def register_task(cls: type[Task], *names: str) -> type[Task]:
    """Register a task class under its Kestra name and aliases."""
    return TASKS.register(cls, *names)


def resolve_task_type(name: str) -> type[Task]:
    """The task class registered under `name`, or UnknownTaskType."""
    return TASKS.resolve(name)


def known_task_types() -> list[str]:
    """Every registered task type name, sorted."""
    return TASKS.known()
