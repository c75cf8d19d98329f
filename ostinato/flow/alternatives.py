"""What to use instead of a well-known Kestra task type that ostinato does not run.

The unknown-type error (`ostinato.flow.registry`) adds `suggestion(name)`: exact types
first, then the longest matching family prefix (`io.kestra.plugin.gcp.`, ...).
"""

from __future__ import annotations

_PLUGIN = "not bundled with ostinato: write a Python plugin for it (README, 'Write a plugin')"
_DOCKER_RUNNER = ("run the container from a script task (`io.kestra.plugin.scripts.shell.Commands`) "
                  "with `taskRunner: {type: io.kestra.plugin.scripts.runner.docker.Docker, image: ...}`")

#: exact Kestra type names (with old aliases) -> what to use instead
EXACT: dict[str, str] = {
    "io.kestra.plugin.core.trigger.Webhook": "it is a trigger: declare it under `triggers:`, not `tasks:`",
    "io.kestra.plugin.core.trigger.Schedule": "it is a trigger: declare it under `triggers:`, not `tasks:`",
    "io.kestra.plugin.core.trigger.Flow": "it is a trigger: declare it under `triggers:`, not `tasks:`",
    "io.kestra.core.models.triggers.types.Webhook": "it is a trigger: declare it under `triggers:`, not `tasks:`",
    "io.kestra.core.models.triggers.types.Schedule": "it is a trigger: declare it under `triggers:`, not `tasks:`",
    "io.kestra.plugin.docker.Run": _DOCKER_RUNNER,
    "io.kestra.plugin.scripts.node.Script": ("use `io.kestra.plugin.scripts.shell.Script` running `node`, "
                                             "or a Python plugin"),
    "io.kestra.plugin.scripts.node.Commands": ("use `io.kestra.plugin.scripts.shell.Commands` with "
                                               "`node ...` commands, or a Python plugin"),
    "io.kestra.plugin.scripts.r.Script": "use `io.kestra.plugin.scripts.shell.Script` running `Rscript`",
    "io.kestra.plugin.scripts.r.Commands": "use `io.kestra.plugin.scripts.shell.Commands` with `Rscript ...`",
    "io.kestra.plugin.scripts.powershell.Commands": ("use `io.kestra.plugin.scripts.shell.Commands` "
                                                     "with `pwsh -Command ...`"),
    "io.kestra.plugin.scripts.julia.Script": "use `io.kestra.plugin.scripts.shell.Script` running `julia`",
    "io.kestra.plugin.scripts.julia.Commands": "use `io.kestra.plugin.scripts.shell.Commands` with `julia ...`",
    "io.kestra.plugin.scripts.bun.Script": "use `io.kestra.plugin.scripts.shell.Script` running `bun`",
    "io.kestra.plugin.scripts.deno.Script": "use `io.kestra.plugin.scripts.shell.Script` running `deno`",
    "io.kestra.core.tasks.scripts.Bash": "use `io.kestra.plugin.scripts.shell.Commands`",
    "io.kestra.core.tasks.scripts.Python": "use `io.kestra.plugin.scripts.python.Script`",
    "io.kestra.core.tasks.scripts.Node": "use `io.kestra.plugin.scripts.shell.Commands` with `node ...`",
    "io.kestra.plugin.core.log.PurgeLogs": "purge old logs with the topic's retention",
    "io.kestra.plugin.core.execution.PurgeExecutions": ("purge old executions with the topics' retention; "
                                                        "an execution's files: `storage.PurgeCurrentExecutionFiles`"),
    "io.kestra.plugin.core.namespace.UploadFiles": "upload namespace files with `ostinato` / the REST `files` API",
    "io.kestra.plugin.core.namespace.DownloadFiles": "read a namespace file with `read()` or `namespaceFiles`",
    "io.kestra.plugin.core.execution.Count": "not supported; count executions through the REST API",
    "io.kestra.plugin.core.execution.Resume": "resume with `ostinato execution resume ID`",
}

#: families of plugin types (by prefix) -> what to use instead (None: nothing to say, e.g. a
#: misspelt core type, which must not be sent to write a plugin)
FAMILIES: dict[str, str | None] = {
    "io.kestra.plugin.core.": None,
    "io.kestra.core.": None,
    "io.kestra.plugin.gcp.": _PLUGIN,
    "io.kestra.plugin.aws.": _PLUGIN,
    "io.kestra.plugin.azure.": _PLUGIN,
    "io.kestra.plugin.jdbc.": _PLUGIN,
    "io.kestra.plugin.notifications.": _PLUGIN,
    "io.kestra.plugin.serdes.": _PLUGIN,
    "io.kestra.plugin.kafka.": _PLUGIN,
    "io.kestra.plugin.mongodb.": _PLUGIN,
    "io.kestra.plugin.dbt.": ("run `dbt` from `io.kestra.plugin.scripts.shell.Commands` "
                              "(or a Python plugin)"),
    "io.kestra.plugin.git.": "run `git` from `io.kestra.plugin.scripts.shell.Commands` (or a Python plugin)",
    "io.kestra.plugin.fs.": _PLUGIN,
    "io.kestra.plugin.docker.": _DOCKER_RUNNER,
    "io.kestra.plugin.kubernetes.": _PLUGIN,
    "io.kestra.plugin.scripts.": "use `io.kestra.plugin.scripts.shell.*` or `python.*`, or a Python plugin",
    "io.kestra.plugin.": _PLUGIN,
}


def suggestion(name: str) -> str | None:
    """What to use instead of the task type `name`, or None when there is nothing to say."""
    found = EXACT.get(name)
    if found is not None:
        return found
    for prefix in sorted(FAMILIES, key=len, reverse=True):
        if name.startswith(prefix):
            return FAMILIES[prefix]
    return None


def with_suggestion(message: str, name: str) -> str:
    """`message` followed by what to use instead of `name`, when there is an alternative."""
    found = suggestion(name)
    return message if found is None else f"{message}: {found}"
