"""Run Kestra's script tasks with the Process task runner: one local process per attempt.
(A Docker `taskRunner` runs the same script through the docker/podman CLI: `container`.)

The steps, as Kestra's `CommandsWrapper` and `Process` runner take them:

1. A fresh temporary directory: `{{ workingDir }}` (the process's cwd) and `{{ outputDir }}`.
   Both are variables for rendering this task's properties, and `WORKING_DIR` /
   `OUTPUT_DIR` in the process's environment.
2. `inputFiles` written there (contents rendered; a `kestra:///` content is fetched).
3. One script: `set -e` (when `failFast` and the interpreter is a POSIX shell), then
   `beforeCommands`, then the commands (or the inline script), joined with newlines and run
   as `interpreter + [script]` (`/bin/sh -c "<script>"`). A `kestra:///` URI in them becomes
   the path of a local copy of the file. A Python task's lone `python <file>` is forked
   from a fork server instead, with the same effects and no interpreter start-up: `fork_server`.
4. Output lines are logged as they come (see `logs`); `::{"outputs": ...}::` lines fill `vars`.
5. Files in `{{ outputDir }}` and those matching `outputFiles` go to internal storage.

Outputs: `exitCode`, `stdOutLineCount`, `stdErrLineCount`, `vars`, `outputFiles` (name ->
`kestra:///` URI). A non-zero exit fails the task ("Command failed with exit code 3") with
those outputs kept. The task's `timeout` kills the process group ("Task timed out after
PT5S"); so does a set `ctx.cancel_event` (the task ends KILLED).

The process gets a small environment, not the worker's: PATH (a directory where `python`
and `python3` are the Python running ostinato comes first), HOME, LANG, the two directories,
and the task's `env`. When the context names a `process_user` (a root worker with
OSTINATO_SCRIPT_USER), the workspace is handed to that user and the process runs as it, so
it cannot read the worker's /proc/<pid>/environ or credential files.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import uuid
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ostinato.expressions import render_value
from ostinato.flow.durations import format_duration, parse_duration
from ostinato.tasks.base import (
    RunContext,
    TaskFailed,
    TaskKilled,
    TaskWarning,
    register_runner,
    to_kestra_string,
)
from ostinato.tasks.scripts.files import (
    Workspace,
    collect_output_files,
    localize_storage_uris,
    storage_reader,
    task_storage_prefix,
    upload_output_files,
    write_input_files,
    write_namespace_files,
)
from ostinato.tasks.scripts.logs import ScriptLogConsumer
from ostinato.flow.script_tasks import (
    DOCKER_RUNNER,
    PROCESS_RUNNER,
    CommandsTask,
    InlineScriptTask,
    PythonCommands,
    PythonOptions,
    PythonScript,
    ScriptTask,
    ShellCommands,
    ShellScript,
)
from ostinato.tasks.scripts.container import (
    ContainerPlan,
    container_command,
    engine_environment,
    plan_container,
)
from ostinato.tasks.scripts import fork_server
from ostinato.tasks.scripts.process import hand_over, run_process

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: the interpreters `set -e` is prepended for when `failFast` is on
POSIX_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"})
#: what Kestra's Python tasks add to the environment
PYTHON_ENV = {
    "PYTHONUNBUFFERED": "true",
    "PIP_ROOT_USER_ACTION": "ignore",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}
#: seconds between SIGTERM and SIGKILL when a script is stopped
KILL_GRACE_SECONDS = 2.0


def run_script_task(task: ScriptTask, ctx: RunContext) -> dict[str, Any]:
    """Run any script task (the runner registered for all four types)."""
    container = plan_container(task, ctx)  # None: a local process
    _log_ignored(task, ctx)
    timeout = _timeout(task, ctx)
    workspace = Workspace.create()
    if ctx.working_dir is not None:  # a WorkingDirectory's child: its files stay for the next
        workspace = Workspace(workspace.root, ctx.working_dir, workspace.output_dir)
    try:
        return _run_in(workspace, task, ctx, timeout, container)
    finally:
        workspace.remove()


def _run_in(
    workspace: Workspace, task: ScriptTask, ctx: RunContext, timeout: tuple[float, str] | None,
    container: ContainerPlan | None = None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "workingDir": str(workspace.working_dir),
        "outputDir": str(workspace.output_dir),
    }
    output_patterns = _string_list(_render(ctx, task.output_files, extra), "outputFiles")
    plain_names = {p: str(workspace.working_dir / p) for p in output_patterns if not _is_glob(p)}
    if plain_names:
        extra["outputFiles"] = plain_names
    if output_patterns and ctx.storage is None:
        raise TaskFailed("outputFiles need an internal storage, and none is configured")

    read = storage_reader(ctx.storage)
    if task.namespace_files is not None:  # first: inputFiles of the same name win, as in Kestra
        flow = ctx.variables.get("flow")
        namespace = str(flow.get("namespace", "")) if isinstance(flow, Mapping) else ""
        copied = write_namespace_files(_render(ctx, task.namespace_files, extra), namespace,
                                       ctx.storage, workspace.working_dir)
        ctx.log("DEBUG", f"{copied} namespace file(s) copied into the working directory")
    if task.input_files is not None:
        write_input_files(_input_files(ctx, task.input_files, extra), workspace.working_dir, read)

    interpreter = _string_list(_render(ctx, task.interpreter, extra), "interpreter")
    if not interpreter:
        raise TaskFailed("`interpreter` must name a program")
    before = _string_list(_render(ctx, task.before_commands, extra), "beforeCommands")
    if _truthy(_render(ctx, task.fail_fast, extra)) and _is_posix_shell(interpreter[0]):
        before = ["set -e", *before]
    body = _body(task, ctx, extra, workspace)
    lines = [localize_storage_uris(line, workspace.working_dir, read) for line in [*before, *body]]
    before, body = lines[:len(before)], lines[len(before):]
    script = "\n".join(lines)
    env = _environment(task, ctx, extra, workspace)
    if ctx.process_user is not None:
        env["HOME"] = str(workspace.working_dir)  # the worker's HOME is not the script user's
        hand_over(workspace.root, ctx.process_user)
        if ctx.working_dir is not None:
            hand_over(workspace.working_dir, ctx.process_user)

    consumer = ScriptLogConsumer(ctx)
    argv = [*interpreter, script]
    fork = None
    if container is not None:  # the same script, run by the engine's CLI in the image
        argv = container_command(container, argv, working_dir=workspace.working_dir, env=env,
                                 mounts=[workspace.root, workspace.working_dir])
        env = engine_environment()
    elif isinstance(task, PythonOptions):  # `python <file>` alone: forked, no start-up cost
        fork = fork_server.plan(interpreter, before, body, env=env, cwd=workspace.working_dir,
                                shims=workspace.root / "bin", user=ctx.process_user)
    ctx.log("DEBUG", f"Starting command with the task runner "
                     f"`{PROCESS_RUNNER if container is None else DOCKER_RUNNER}`")
    try:
        result = run_process(
            argv,
            cwd=workspace.working_dir,
            env=env,
            on_stdout=consumer.stdout,
            on_stderr=consumer.stderr,
            timeout=None if timeout is None else timeout[0],
            cancelled=_cancel_check(ctx),
            kill_grace=KILL_GRACE_SECONDS,
            user=ctx.process_user,
            fork=fork,
        )
    except fork_server.ForkServerLost as exc:
        raise TaskFailed(str(exc)) from None
    except OSError as exc:
        raise TaskFailed(f"Unable to start `{interpreter[0]}`: {exc.strerror or exc}") from None

    if result.stopped == "cancelled":
        raise TaskKilled("Task killed")
    if result.leftovers_killed:
        ctx.log("WARN", "Processes still running after the command ended were killed")

    outputs: dict[str, Any] = {
        "exitCode": result.exit_code,
        "stdOutLineCount": consumer.stdout_count,
        "stdErrLineCount": consumer.stderr_count,
        "vars": consumer.vars,
        "outputFiles": _store_output_files(task, ctx, workspace, output_patterns),
    }
    if result.stopped == "timeout" and timeout is not None:
        raise TaskFailed(f"Task timed out after {timeout[1]}", outputs)
    if result.exit_code != 0:
        raise TaskFailed(f"Command failed with exit code {result.exit_code}", outputs)
    if consumer.stderr_count and _truthy(_render(ctx, task.warning_on_std_err, extra)):
        raise TaskWarning(
            f"The command wrote {consumer.stderr_count} line(s) to standard error "
            "and warningOnStdErr is true",
            outputs,
        )
    return outputs


# ----------------------------------------------------------------- the script


def _body(
    task: ScriptTask, ctx: RunContext, extra: Mapping[str, Any], workspace: Workspace
) -> list[str]:
    """The commands after `beforeCommands`."""
    if isinstance(task, CommandsTask):
        commands = _string_list(_render(ctx, task.commands, extra), "commands")
        if not commands:
            raise TaskFailed("`commands` rendered to an empty list")
        return commands
    if isinstance(task, InlineScriptTask):
        script = to_kestra_string(_render(ctx, task.script, extra))
        if not isinstance(task, PythonScript):
            return [script]
        # As Kestra does: the script is a file in the working directory, run by `python`
        # (so modules given as inputFiles are importable from it).
        path = workspace.working_dir / f".script-{uuid.uuid4().hex[:12]}.py"
        path.write_text(
            localize_storage_uris(script, workspace.working_dir, storage_reader(ctx.storage)),
            encoding="utf-8",
        )
        return [f"python {shlex.quote(str(path))}"]
    raise TaskFailed(f"`{task.type}` is not a script task this runner knows")


def _is_posix_shell(program: str) -> bool:
    return Path(program).name in POSIX_SHELLS


# ----------------------------------------------------------------- environment


def _environment(
    task: ScriptTask, ctx: RunContext, extra: Mapping[str, Any], workspace: Workspace
) -> dict[str, str]:
    path_dirs = [str(p) for p in _python_dirs(workspace)]
    path_dirs.append(os.environ.get("PATH") or DEFAULT_PATH)
    env = {
        "PATH": os.pathsep.join(dict.fromkeys(d for d in path_dirs if d)),
        "HOME": os.environ.get("HOME") or str(workspace.working_dir),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "WORKING_DIR": str(workspace.working_dir),
        "OUTPUT_DIR": str(workspace.output_dir),
    }
    if isinstance(task, PythonOptions):
        env.update(PYTHON_ENV)
    if task.env is not None:
        rendered = _render(ctx, task.env, extra)
        if isinstance(rendered, str):
            rendered = _json(rendered, "env", dict)
        if not isinstance(rendered, dict):
            raise TaskFailed("`env` must be a map of names to values")
        env.update({str(k): to_kestra_string(v) for k, v in rendered.items() if v is not None})
    return env


def _python_dirs(workspace: Workspace) -> list[Path]:
    """Directories to put first on PATH so that `python` and `python3` are this Python."""
    executable = sys.executable
    if not executable:
        return []
    home = Path(executable).parent
    if _python_names_resolve(executable):
        return [home]
    shims = workspace.root / "bin"
    shims.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        shim = shims / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(executable)} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    return [shims, home]


@cache
def _python_names_resolve(executable: str) -> bool:
    """Whether `python` and `python3` beside `executable` are `executable` itself."""
    home = Path(executable).parent
    try:
        return all(os.path.samefile(home / name, executable) for name in ("python", "python3"))
    except OSError:
        return False


# ----------------------------------------------------------------- properties


def _render(ctx: RunContext, value: Any, extra: Mapping[str, Any]) -> Any:
    """`value` rendered with the task's variables plus `workingDir`, `outputDir`..."""
    if value is None or isinstance(value, bool):
        return value
    return render_value(value, {**ctx.render_context(), **extra})


def _string_list(value: Any, name: str) -> list[str]:
    """A rendered list property; a string is a JSON list or else one item."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return [to_kestra_string(v) for v in parsed]
        return [value]
    if isinstance(value, list):
        return [to_kestra_string(v) for v in value]
    raise TaskFailed(f"`{name}` must be a list of strings")


def _json(text: str, name: str, kind: type) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise TaskFailed(f"`{name}` must render to a JSON {kind.__name__}: {exc}") from None
    if not isinstance(parsed, kind):
        raise TaskFailed(f"`{name}` must render to a JSON {kind.__name__}")
    return parsed


def _input_files(ctx: RunContext, value: Any, extra: Mapping[str, Any]) -> dict[str, str]:
    rendered = _render(ctx, value, extra)
    if isinstance(rendered, str):
        rendered = _json(rendered, "inputFiles", dict)
    if not isinstance(rendered, dict):
        raise TaskFailed("`inputFiles` must be a map of file names to contents")
    return {str(k): to_kestra_string(v) for k, v in rendered.items() if v is not None}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _timeout(task: ScriptTask, ctx: RunContext) -> tuple[float, str] | None:
    """The task's `timeout` in seconds and as Kestra prints it (`PT5S`), or None."""
    if task.timeout is None:
        return None
    text = ctx.render_str(task.timeout) or ""
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        raise TaskFailed(f"timeout: {exc}") from None
    return duration.total_seconds(), format_duration(duration)


def _cancel_check(ctx: RunContext) -> Callable[[], bool] | None:
    """`ctx.cancel_event.is_set` (or `ctx.cancelled.is_set`) when the context has one."""
    for name in ("cancel_event", "cancelled"):
        event = getattr(ctx, name, None)
        is_set = getattr(event, "is_set", None)
        if callable(is_set):
            return lambda: bool(is_set())
    return None


def _log_ignored(task: ScriptTask, ctx: RunContext) -> None:
    if isinstance(task, PythonOptions) and task.dependencies:
        ctx.log(
            "WARN",
            "dependencies are not installed by the Process task runner here: "
            "install them with beforeCommands (pip install ...)",
        )


def _store_output_files(
    task: ScriptTask, ctx: RunContext, workspace: Workspace, patterns: list[str]
) -> dict[str, str]:
    files = collect_output_files(patterns, workspace.working_dir, workspace.output_dir)
    for pattern in patterns:
        if not _is_glob(pattern) and pattern not in files:
            ctx.log("WARN", f"outputFiles: no file `{pattern}` in the working directory")
    if not files:
        return {}
    if ctx.storage is None:
        raise TaskFailed("files were written to outputDir, but no internal storage is configured")
    prefix = task_storage_prefix(ctx.variables, task.id)
    return upload_output_files(files, ctx.storage, prefix)


for _task_cls in (ShellCommands, ShellScript, PythonCommands, PythonScript):
    register_runner(_task_cls, run_script_task)
