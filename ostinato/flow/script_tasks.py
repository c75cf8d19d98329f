"""Models of Kestra's script tasks: shell and Python `Commands` and `Script`.

Every property of Kestra's `AbstractExecScript` is accepted, so a flow written for Kestra
validates unchanged; the runner (`ostinato.tasks.scripts.runner`) says at run time which
ones it ignores. Only the Process task runner exists here: a Docker `taskRunner` (or the
deprecated `runner: DOCKER`) validates but is refused when the task runs.
"""

from __future__ import annotations

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
