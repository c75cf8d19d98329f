"""Models of Kestra's script tasks: shell and Python `Commands` and `Script`.

Every property of Kestra's `AbstractExecScript` is accepted, so a flow written for Kestra
validates unchanged; the runner (`ostinato.tasks.scripts.runner`) says at run time which
ones it ignores. Without a `taskRunner` a script runs as a local process (Kestra's
Process runner); a Docker `taskRunner` (or the deprecated `runner: DOCKER`) runs it in a
container when the machine has `docker` or `podman` (`ostinato.tasks.scripts.container`),
and validation warns when it has neither.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from ostinato.flow.tasks import Task, kestra_task

#: `taskRunner.type` values that mean "run as a local process"
PROCESS_RUNNER_TYPES: frozenset[str] = frozenset({
    "io.kestra.plugin.core.runner.Process",
    "io.kestra.core.models.tasks.runners.types.ProcessTaskRunner",
})
#: `taskRunner.type` values that validate but are refused at run time
DOCKER_RUNNER_TYPES: frozenset[str] = frozenset({
    "io.kestra.plugin.scripts.runner.docker.Docker",
    "io.kestra.plugin.scripts.runner.docker.DockerTaskRunner",
})
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"
DOCKER_RUNNER = "io.kestra.plugin.scripts.runner.docker.Docker"
#: the container engines a Docker task runner can use, in order of preference
CONTAINER_ENGINES: tuple[str, ...] = ("docker", "podman")
#: set to `process` to run Docker-runner tasks as local processes where no engine exists
DOCKER_FALLBACK_ENV = "OSTINATO_DOCKER_FALLBACK"
#: a container engine CLI to use instead of the first of CONTAINER_ENGINES on PATH
CONTAINER_ENGINE_ENV = "OSTINATO_CONTAINER_ENGINE"


#: seconds a probe of the engine (`docker info`) may take, and how long its answer is kept
ENGINE_PROBE_TIMEOUT = 10.0
ENGINE_PROBE_TTL = 60.0


@dataclass(frozen=True)
class EngineProbe:
    """The container engine this machine can use (`engine`, a CLI path), or why none."""

    engine: str | None
    problem: str = ""


_probes: dict[tuple[str, ...], tuple[float, EngineProbe]] = {}
_probe_lock = threading.Lock()


def probe_container_engine() -> EngineProbe:
    """The first engine CLI (OSTINATO_CONTAINER_ENGINE, else `docker`, else `podman` on PATH)
    whose `info` answers: a CLI without a reachable daemon is no engine. Kept a minute."""
    chosen = os.environ.get(CONTAINER_ENGINE_ENV, "").strip()
    names = (chosen,) if chosen else CONTAINER_ENGINES
    now = time.monotonic()
    with _probe_lock:
        cached = _probes.get(names)
        if cached is not None and now - cached[0] < ENGINE_PROBE_TTL:
            return cached[1]
        probe = _probe(names)
        _probes[names] = (now, probe)
        return probe


def _probe(names: tuple[str, ...]) -> EngineProbe:
    problems = []
    for name in names:
        found = shutil.which(name)
        if not found:
            continue
        try:
            done = subprocess.run([found, "info"], capture_output=True, text=True,
                                  timeout=ENGINE_PROBE_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"`{name} info` failed: {exc}")
            continue
        if done.returncode == 0:
            return EngineProbe(found)
        last = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        problems.append(f"`{name}` is on PATH but `{name} info` fails: {last}")
    if not problems:
        problems.append(f"no {' or '.join(f'`{n}`' for n in names)} on PATH")
    return EngineProbe(None, "; ".join(problems))


def container_engine() -> str | None:
    """The path of a working container engine CLI on this machine, or None."""
    return probe_container_engine().engine


def docker_falls_back_to_process() -> bool:
    """Whether OSTINATO_DOCKER_FALLBACK=process asks to run Docker-runner tasks locally."""
    return os.environ.get(DOCKER_FALLBACK_ENV, "").strip().lower() == "process"

DEFAULT_INTERPRETER: tuple[str, ...] = ("/bin/sh", "-c")


class ScriptTask(Task):
    """Properties common to every script task (Kestra's `AbstractExecScript`).

    List and map properties may also be a string: an expression that renders to JSON.
    """

    #: whether the task runs Python (adds Kestra's PYTHONUNBUFFERED / PIP_* variables)
    python: ClassVar[bool] = False

    task_runner: dict[str, Any] | None = None
    container_image: str | None = None
    before_commands: list[str] | str | None = None
    env: dict[str, Any] | str | None = None
    interpreter: list[str] | str = Field(default_factory=lambda: list(DEFAULT_INTERPRETER))
    warning_on_std_err: bool | str = False
    fail_fast: bool | str = True
    namespace_files: dict[str, Any] | None = None
    input_files: dict[str, Any] | str | None = None
    output_files: list[str] | str | None = None
    #: deprecated in Kestra: `{{ outputDir }}` is always available here
    output_directory: bool | str | None = None
    target_os: str = Field(default="AUTO", alias="targetOS")
    #: deprecated in Kestra: `PROCESS` or `DOCKER`, used when `taskRunner` is not set
    runner: Literal["PROCESS", "DOCKER"] | None = None
    #: deprecated Docker options; only used by the Docker runner
    docker: dict[str, Any] | None = None

    def wants_container(self) -> bool:
        """Whether the task asks for the Docker task runner (or the deprecated `runner: DOCKER`)."""
        kind = (self.task_runner or {}).get("type")
        return kind in DOCKER_RUNNER_TYPES or (kind is None and self.runner == "DOCKER")

    def validation_warnings(self) -> list[str]:
        """What validation says without refusing the flow: a Docker runner this machine lacks."""
        if not self.wants_container():
            return []
        probe = probe_container_engine()
        if probe.engine is not None:
            return []
        if docker_falls_back_to_process():
            return [f"no usable container engine on this machine ({probe.problem}): the Docker "
                    f"task runner will run the script as a local process ({DOCKER_FALLBACK_ENV}=process)"]
        return [f"no usable container engine on this machine ({probe.problem}): the Docker task "
                f"runner will fail here; use `taskRunner: {{type: {PROCESS_RUNNER}}}` or run "
                f"workers that have docker or podman"]

    @field_validator("task_runner")
    @classmethod
    def _check_task_runner(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        kind = value.get("type")
        if not isinstance(kind, str) or not kind:
            raise ValueError("a `taskRunner` needs a `type`")
        if kind not in PROCESS_RUNNER_TYPES and kind not in DOCKER_RUNNER_TYPES:
            raise ValueError(
                f"unknown task runner type `{kind}`; ostinato runs scripts with `{PROCESS_RUNNER}`"
            )
        if kind in PROCESS_RUNNER_TYPES:
            extra = sorted(set(value) - {"type", "version"})
            if extra:
                raise ValueError(
                    f"the Process task runner has no property {', '.join(f'`{k}`' for k in extra)}"
                )
        return value


class CommandsTask(ScriptTask):
    """A script task that runs a list of `commands`."""

    commands: list[str] | str

    @field_validator("commands")
    @classmethod
    def _not_empty(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and not value:
            raise ValueError("`commands` needs at least one command")
        return value


class InlineScriptTask(ScriptTask):
    """A script task that runs an inline `script`."""

    script: str

    @field_validator("script")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("`script` must not be empty")
        return value


class PythonOptions(ScriptTask):
    """Properties of Kestra's Python tasks that only matter to its own dependency manager."""

    python: ClassVar[bool] = True

    dependencies: list[str] | str | None = None
    python_version: str | None = None
    dependency_cache_enabled: bool | str | None = None
    package_manager: str | None = None


@kestra_task("io.kestra.plugin.scripts.shell.Commands")
class ShellCommands(CommandsTask):
    """`io.kestra.plugin.scripts.shell.Commands`: commands run by the interpreter (`/bin/sh -c`)."""


@kestra_task("io.kestra.plugin.scripts.shell.Script")
class ShellScript(InlineScriptTask):
    """`io.kestra.plugin.scripts.shell.Script`: an inline script run by the interpreter."""


@kestra_task("io.kestra.plugin.scripts.python.Commands")
class PythonCommands(CommandsTask, PythonOptions):
    """`io.kestra.plugin.scripts.python.Commands`: commands where `python` is ostinato's Python."""


@kestra_task("io.kestra.plugin.scripts.python.Script")
class PythonScript(InlineScriptTask, PythonOptions):
    """`io.kestra.plugin.scripts.python.Script`: an inline script run with ostinato's Python."""
