"""Task types from other packages, found through the `ostinato.tasks` entry point group.

A plugin package declares, in its `pyproject.toml`:

    [project.entry-points."ostinato.tasks"]
    hello = "ostinato_plugin_hello:plugin"

where `plugin` is a `TaskPlugin` (or a list of them, or a function returning them): a
pydantic `Task` subclass, its Kestra-style type name(s) and its runner. Every process that
parses flows (the API, the executor, the scheduler, each worker) loads the entry points
once, the first time it meets a type that no core class answers to (or lists the known
types). A plugin that fails to load is logged and remembered; its types stay unknown, and
the "unknown task type" error then names the plugin and its error, so a broken plugin
never stops a service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ostinato.flow.tasks import Task
    from ostinato.tasks.base import Runner

#: the entry point group plugins declare their task types in
ENTRY_POINT_GROUP = "ostinato.tasks"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskPlugin:
    """One task type a plugin provides: its model, its type names (canonical first), its runner."""

    model: type[Task]
    types: tuple[str, ...]
    runner: Runner


@dataclass(frozen=True)
class PluginFailure:
    """A plugin entry point that could not be loaded, and why."""

    name: str
    target: str
    error: str

    def __str__(self) -> str:
        return f"plugin `{self.name}` ({self.target}) failed to load: {self.error}"


def task_plugin(model: type[Task], runner: Runner, *types: str) -> TaskPlugin:
    """Declare a plugin task type: `model` validates its properties, `runner(task, ctx)` runs
    it (returning its outputs), `types` are its names in flows (the first is canonical)."""
    if not types:
        raise ValueError(f"{model.__name__} needs at least one type name")
    return TaskPlugin(model=model, types=tuple(types), runner=runner)


class _PluginState:
    """What this process loaded: done once, under a lock (flows are parsed from threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.loaded = False
        self.loading = False
        self.failures: list[PluginFailure] = []
        self.types: dict[str, str] = {}  # type name -> plugin name


_STATE = _PluginState()


def ensure_plugins_loaded() -> None:
    """Load every `ostinato.tasks` entry point of the environment, once per process."""
    with _STATE.lock:
        if _STATE.loaded or _STATE.loading:  # `loading`: a plugin resolving types as it loads
            return
        _STATE.loading = True
        try:
            load_plugins(entry_points(group=ENTRY_POINT_GROUP))
        finally:
            _STATE.loading = False
            _STATE.loaded = True


def load_plugins(points: Iterable[EntryPoint]) -> list[PluginFailure]:
    """Load and register each entry point; failures are logged, kept and returned, never raised."""
    failures: list[PluginFailure] = []
    for point in points:
        try:
            declared = _declarations(point.load())
            for plugin in declared:
                _register(plugin, point.name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop a service
            failure = PluginFailure(point.name, point.value, f"{type(exc).__name__}: {exc}")
            log.error("%s; its task types stay unknown", failure)
            failures.append(failure)
        else:
            names = ", ".join(t for p in declared for t in p.types)
            log.info("plugin `%s` registered task type(s) %s", point.name, names)
    with _STATE.lock:
        _STATE.failures.extend(failures)
    return failures


def plugin_failures() -> list[PluginFailure]:
    """The plugins this process could not load (after loading them if not done yet)."""
    ensure_plugins_loaded()
    with _STATE.lock:
        return list(_STATE.failures)


def plugin_types() -> dict[str, str]:
    """Each task type a plugin registered, with the plugin's entry point name."""
    ensure_plugins_loaded()
    with _STATE.lock:
        return dict(_STATE.types)


def _declarations(value: Any) -> list[TaskPlugin]:
    """The TaskPlugins an entry point names: one, a list, or a function returning either."""
    if callable(value) and not isinstance(value, (TaskPlugin, type)):
        value = value()
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    bad = [item for item in items if not isinstance(item, TaskPlugin)]
    if bad or not items:
        raise TypeError(
            "an `ostinato.tasks` entry point must name a TaskPlugin (ostinato.plugins."
            f"task_plugin), a list of them or a function returning them, got {type(value).__name__}"
        )
    return items


def _register(plugin: TaskPlugin, plugin_name: str) -> None:
    from ostinato.flow.registry import register_task
    from ostinato.flow.tasks import Task
    from ostinato.tasks.base import register_runner

    if not (isinstance(plugin.model, type) and issubclass(plugin.model, Task)):
        raise TypeError(f"{plugin.model!r} is not a subclass of ostinato.flow.tasks.Task")
    if not callable(plugin.runner):
        raise TypeError(f"the runner of {plugin.model.__name__} is not callable")
    register_task(plugin.model, *plugin.types)
    register_runner(plugin.model, plugin.runner)
    with _STATE.lock:
        _STATE.types.update(dict.fromkeys(plugin.types, plugin_name))


def unknown_type_hint() -> str:
    """What to add to an "unknown task type" error: the plugins that failed to load, if any."""
    failures = plugin_failures()
    if not failures:
        return ""
    return "; " + "; ".join(str(f) for f in failures)


__all__ = [
    "ENTRY_POINT_GROUP", "PluginFailure", "TaskPlugin", "ensure_plugins_loaded", "load_plugins",
    "plugin_failures", "plugin_types", "task_plugin", "unknown_type_hint",
]
