"""Kestra's Docker task runner on the `docker` or `podman` CLI.

A script task with `taskRunner: {type: io.kestra.plugin.scripts.runner.docker.Docker}` (or
the deprecated `runner: DOCKER`) runs the same script the Process runner would, as

    docker run --rm --name ostinato-<id> --entrypoint "" -v <root>:<root> -w <workingDir>
        -e NAME=VALUE ... [options] <containerImage> <interpreter...> <script>

so `{{ workingDir }}`, `{{ outputDir }}`, inputFiles and outputFiles keep their host paths
inside the container, and output lines are read from the CLI as from a local process.

Without an engine on the worker the task fails, naming the missing engine and the
Process runner to use instead; with OSTINATO_DOCKER_FALLBACK=process it runs as a local
process after a WARN line. A task without a `taskRunner` always runs as a local process
(Kestra's default is Docker; ostinato's is Process).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ostinato.flow.script_tasks import (
    DOCKER_FALLBACK_ENV,
    DOCKER_RUNNER,
    PROCESS_RUNNER,
    PythonOptions,
    ScriptTask,
    docker_falls_back_to_process,
    probe_container_engine,
)
from ostinato.tasks.base import RunContext, TaskFailed, to_kestra_string

#: the image when neither `containerImage` nor the deprecated `docker.image` names one
DEFAULT_IMAGES = {"python": "python:3.11-slim", "shell": "ubuntu"}
#: variables of the worker's environment that must not go into the container
HOST_ONLY_VARIABLES = frozenset({"PATH", "HOME"})
_PULL_POLICIES = {"IF_NOT_PRESENT": "missing", "ALWAYS": "always", "NEVER": "never"}


@dataclass(frozen=True)
class ContainerPlan:
    """How to run one script task in a container: the engine CLI, the image, the options."""

    engine: str
    image: str
    options: dict[str, Any] = field(default_factory=dict)


def plan_container(task: ScriptTask, ctx: RunContext) -> ContainerPlan | None:
    """The container to run `task` in, or None to run it as a local process.

    Raises TaskFailed when the task asks for Docker, this worker has no engine and no
    fallback is configured."""
    if not task.wants_container():
        return None
    probe = probe_container_engine()
    engine = probe.engine
    if engine is None:
        if docker_falls_back_to_process():
            ctx.log("WARN", f"No usable container engine on this worker ({probe.problem}): running "
                            f"the script as a local process ({DOCKER_FALLBACK_ENV}=process)")
            return None
        raise TaskFailed(
            f"The task runner `{DOCKER_RUNNER}` needs a container engine (`docker` or `podman`) "
            f"and this worker has none usable ({probe.problem}): use `taskRunner: {{type: "
            f"{PROCESS_RUNNER}}}` to run the script as a local process (or set "
            f"{DOCKER_FALLBACK_ENV}=process on the workers)"
        )
    options = dict(task.docker or {})
    options.update({k: v for k, v in (task.task_runner or {}).items() if k not in ("type", "version")})
    rendered = ctx.render(options)
    image = ctx.render_str(task.container_image) or rendered.get("image")
    if not image:
        image = DEFAULT_IMAGES["python" if isinstance(task, PythonOptions) else "shell"]
    return ContainerPlan(engine=engine, image=str(image), options=rendered)


def container_command(
    plan: ContainerPlan,
    command: Sequence[str],
    *,
    mounts: Sequence[Path],
    working_dir: Path,
    env: Mapping[str, str],
    name: str | None = None,
) -> list[str]:
    """The engine's `run` command line that runs `command` in `working_dir` inside the image,
    with each of `mounts` bound at its own path and `env` (but PATH and HOME) set."""
    argv = [plan.engine, "run", "--rm", "--name", name or f"ostinato-{uuid.uuid4().hex[:16]}"]
    argv += _entrypoint(plan.options.get("entryPoint"))
    for mount in dict.fromkeys(str(m) for m in mounts):
        argv += ["-v", f"{mount}:{mount}"]
    argv += ["-w", str(working_dir)]
    for key, value in env.items():
        if key not in HOST_ONLY_VARIABLES:
            argv += ["-e", f"{key}={value}"]
    argv += _options(plan.options)
    return [*argv, plan.image, *command]


def engine_environment() -> dict[str, str]:
    """The environment of the engine CLI itself: the worker's (DOCKER_HOST, PATH, ...)."""
    return dict(os.environ)


def _entrypoint(value: Any) -> list[str]:
    # Kestra's default entryPoint is [""]: the image's entrypoint is not used.
    if isinstance(value, list) and value:
        return ["--entrypoint", to_kestra_string(value[0])]
    if isinstance(value, str):
        return ["--entrypoint", value]
    return ["--entrypoint", ""]


def _options(options: Mapping[str, Any]) -> list[str]:
    """Docker runner properties as CLI flags (the ones the CLI has a flag for)."""
    argv: list[str] = []
    if options.get("user"):
        argv += ["--user", to_kestra_string(options["user"])]
    if options.get("networkMode"):
        argv += ["--network", to_kestra_string(options["networkMode"])]
    policy = _PULL_POLICIES.get(str(options.get("pullPolicy") or "").upper())
    if policy:
        argv += ["--pull", policy]
    cpu = options.get("cpu")
    if isinstance(cpu, Mapping) and cpu.get("cpus") is not None:
        argv += ["--cpus", to_kestra_string(cpu["cpus"])]
    memory = options.get("memory")
    if isinstance(memory, Mapping) and memory.get("memory") is not None:
        argv += ["--memory", to_kestra_string(memory["memory"])]
    if options.get("shmSize"):
        argv += ["--shm-size", to_kestra_string(options["shmSize"])]
    if str(options.get("privileged")).lower() == "true":
        argv.append("--privileged")
    for host in options.get("extraHosts") or []:
        argv += ["--add-host", to_kestra_string(host)]
    for volume in options.get("volumes") or []:
        argv += ["-v", to_kestra_string(volume)]
    return argv
