"""Structure rules for ostinato/ and services/: no Kestra state written as a string literal
outside the state module (a state is a `StateType` member), and no file over 400 lines.

The decider's own rules (no import cycle, the protocol loads without it) are in
tests/decider/test_structure.py.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("ostinato", "services")
STATE_MODULE = "ostinato/execution/states.py"
MAX_LINES = 400

STATE_NAMES = frozenset({
    "CREATED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING", "FAILED",
    "KILLED", "CANCELLED", "QUEUED", "RETRYING", "RETRIED", "SKIPPED",
})

#: (file, enclosing definition or assignment target, literal) -> why that literal is not a
#: state. Keep it short: each entry is a literal that merely spells like a state.
NOT_STATES: dict[tuple[str, str, str], str] = {
    ("ostinato/tasks/base.py", "_LEVEL_ALIASES", "WARNING"):
        "a log level alias (Python's WARNING read as Kestra's WARN), not a state",
    ("ostinato/flow/conditions.py", "State", "*"):
        "the Literal type that validates state names written in a flow's conditions "
        "(it also admits Kestra states ostinato does not model, e.g. BREAKPOINT)",
}


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    where: str
    literal: str
    usage: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.literal!r} {self.usage} (in {self.where})"


def _python_files() -> list[Path]:
    return sorted(p for root in ROOTS for p in (REPO / root).rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _usage(node: ast.AST, parent: ast.AST | None) -> str | None:
    """How a state-named constant is used, or None when it is not a value (a docstring)."""
    if isinstance(parent, ast.Compare):
        return "compared"
    if isinstance(parent, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
        return "in a collection literal"
    if isinstance(parent, ast.Call):
        func = parent.func
        if isinstance(func, ast.Attribute) and func.attr == "move":
            return "passed to .move()"
        return "passed as an argument"
    if isinstance(parent, ast.keyword):
        return "passed as an argument"
    if isinstance(parent, ast.Expr):
        return None
    return f"used as a value ({type(parent).__name__})"


def _state_literals(path: Path) -> list[Hit]:
    """Every string constant named like a state in `path`, with how it is used and the
    definition or assignment that holds it."""
    tree = ast.parse(path.read_text(), filename=str(path))
    hits: list[Hit] = []

    def visit(node: ast.AST, parent: ast.AST | None, where: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            where = node.name if where == "<module>" else f"{where}.{node.name}"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and where == "<module>":
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            where = names[0] if names else where
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value in STATE_NAMES:
            usage = None if where == "__all__" else _usage(node, parent)  # export names
            if usage is not None:
                hits.append(Hit(_relative(path), node.lineno, where, node.value, usage))
        for child in ast.iter_child_nodes(node):
            visit(child, node, where)

    visit(tree, None, "<module>")
    return hits


def _allowed(hit: Hit) -> bool:
    return ((hit.path, hit.where, hit.literal) in NOT_STATES
            or (hit.path, hit.where, "*") in NOT_STATES)


def test_no_state_is_a_string_literal_outside_the_state_module() -> None:
    hits = [hit for path in _python_files() if _relative(path) != STATE_MODULE
            for hit in _state_literals(path) if not _allowed(hit)]
    assert hits == [], "states written as text (use StateType):\n" + "\n".join(map(str, hits))


def test_every_allowed_literal_still_exists() -> None:
    """An allow-list entry whose literal went away is removed, not kept as a loophole."""
    found = {(hit.path, hit.where) for path in _python_files() for hit in _state_literals(path)}
    stale = [key for key in NOT_STATES if key[:2] not in found]
    assert stale == []


def test_the_finder_sees_each_kind_of_use(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""RUNNING"""\n'
        'def f(execution, state):\n'
        '    """FAILED"""\n'
        '    if state == "RUNNING" or state in ("FAILED", "KILLED"):\n'
        '        execution.move("PAUSED")\n'
        '    return {"SUCCESS": 1}, Outcome(state="SKIPPED"), "QUEUED"\n'
        'LEVELS = {"WARN": 1}\n'
        '__all__ = ["FAILED"]\n')
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        hits = _state_literals(sample)
    finally:
        REPO = saved
    assert [(h.literal, h.usage, h.where) for h in hits] == [
        ("RUNNING", "compared", "f"),
        ("FAILED", "in a collection literal", "f"),
        ("KILLED", "in a collection literal", "f"),
        ("PAUSED", "passed to .move()", "f"),
        ("SUCCESS", "in a collection literal", "f"),
        ("SKIPPED", "passed as an argument", "f"),
        ("QUEUED", "in a collection literal", "f"),
    ]


def test_no_file_is_over_400_lines() -> None:
    long = {_relative(p): n for p in _python_files()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
