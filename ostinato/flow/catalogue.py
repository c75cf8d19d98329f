"""The supported task types, from the registry, as the Markdown list README's "What works"
shows (`python -m ostinato.flow.catalogue`); a test keeps README equal to it.

Types that plugins add are left out (they depend on what is installed), and so are the
types registered only to be refused (`flow.Template`, `_REFUSED`) or used internally (ForEachItem's
phases, whose classes say so with `catalogued = False`).
"""

from __future__ import annotations

from ostinato.flow import tasks as _tasks  # noqa: F401 - registers every bundled task type
from ostinato.flow.registry import TASKS
from ostinato.plugins import plugin_types

BEGIN = "<!-- task types: python -m ostinato.flow.catalogue -->"
END = "<!-- end of task types -->"

#: registered only to be refused at validation, with what to use instead
_REFUSED = frozenset({"io.kestra.plugin.core.flow.Template"})


def supported_types() -> dict[str, list[str]]:
    """Each bundled, supported task type's canonical name -> its other names, sorted."""
    plugins = plugin_types()
    names: dict[str, list[str]] = {}
    for name in TASKS.known():
        if name in plugins:
            continue
        cls = TASKS.resolve(name)
        if not getattr(cls, "catalogued", True):
            continue
        canonical = str(getattr(cls, "type_name", name))
        if canonical in _REFUSED:
            continue
        names.setdefault(canonical, [])
        if name != canonical:
            names[canonical].append(name)
    return {key: sorted(names[key]) for key in sorted(names)}


def markdown() -> str:
    """The Markdown list (between its markers) of every supported task type and its aliases."""
    lines = [BEGIN]
    for canonical, aliases in supported_types().items():
        also = f" (also {', '.join(f'`{a}`' for a in aliases)})" if aliases else ""
        lines.append(f"- `{canonical}`{also}")
    lines.append(END)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
