"""Refuse jq programs that would reach the file system, before they run.

jq can load modules and data files (`import "x" as $d {search: "/dir"}`, `include`),
name its search paths and files (`modulemeta`, `get_search_list`, `input_filename`,
`$__loc__`, `get_prog_origin`, `get_jq_origin`). The check walks the program's tokens,
so the same words inside strings, comments, field names (`.import`) or object keys
(`{include: 1}`) are fine.
"""

from __future__ import annotations

from .limits import BudgetExceeded

FORBIDDEN = frozenset({
    "import", "include", "modulemeta", "get_search_list", "input_filename",
    "get_prog_origin", "get_jq_origin", "$__loc__", "$__prog_args",
})


class ForbiddenJq(BudgetExceeded):
    """A jq program uses a directive or builtin that reads files; names it."""


def _skip_string(program: str, start: int) -> int:
    """The index after the string literal opening at `start` (interpolations included)."""
    i = start + 1
    while i < len(program):
        char = program[i]
        if char == "\\" and program.startswith("(", i + 1):
            i = _scan(program, i + 2, closing=")")
            continue
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return i + 1
        i += 1
    return i


def _word_end(program: str, i: int) -> int:
    while i < len(program) and (program[i].isalnum() or program[i] in "_:"):
        i += 1
    return i


def _scan(program: str, i: int, closing: str | None = None) -> int:
    """Check the code from `i` (up to the `closing` parenthesis of an interpolation)."""
    depth = 0
    while i < len(program):
        char = program[i]
        if char == '"':
            i = _skip_string(program, i)
        elif char == "#":
            newline = program.find("\n", i)
            i = len(program) if newline < 0 else newline + 1
        elif char.isalpha() or char in "_$":
            end = _word_end(program, i + 1)
            _check_word(program, i, end)
            i = end
        else:
            if closing is not None and char == "(":
                depth += 1
            elif closing is not None and char == ")":
                if depth == 0:
                    return i + 1
                depth -= 1
            i += 1
    return i


def _check_word(program: str, start: int, end: int) -> None:
    word = program[start:end]
    if word not in FORBIDDEN:
        return
    before = program[:start].rstrip()
    after = program[end:].lstrip()
    if before.endswith(".") and not before.endswith(".."):
        return  # a field: .import
    if after.startswith(":") and not after.startswith("::"):
        return  # an object key: {import: 1}
    raise ForbiddenJq(
        f"the jq program `{program}` uses `{word}`, which reads the file system: "
        f"it is not allowed in a flow"
    )


def check_program(program: str) -> None:
    """Raise ForbiddenJq when `program` uses a directive or builtin that reaches files."""
    _scan(program, 0)
