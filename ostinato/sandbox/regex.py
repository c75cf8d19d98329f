"""Regular expressions written by users (input validators, `replace`, `split`, trigger
conditions …), run on RE2: matching is linear in the text, so no pattern can backtrack
for ever (`^(a+)+$` on 43 characters hangs Python's `re`; RE2 answers at once).

Patterns are Java's (Kestra's): the constructs RE2 lacks with the same meaning are
mapped (`\\p{Alpha}` and the other POSIX classes, possessive quantifiers and atomic
groups, which only ever change how a backtracking engine backtracks, `\\Z`); the
constructs it cannot run at all (backreferences, lookahead, lookbehind) give a
`RegexError` naming the pattern and the construct.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2


class RegexError(ValueError):
    """A pattern RE2 cannot run; ``str(e)`` names the pattern and why."""


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error is raised to the caller; no absl log on stderr

# Java's \p{Name} POSIX classes -> RE2's [[:name:]]
_POSIX = {
    "Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha",
    "Digit": "digit", "Alnum": "alnum", "Punct": "punct", "Graph": "graph",
    "Print": "print", "Blank": "blank", "Cntrl": "cntrl", "XDigit": "xdigit",
    "Space": "space",
}
_UNSUPPORTED = (
    (re.compile(r"\(\?<?[=!]"), "lookahead or lookbehind"),
    (re.compile(r"\\[1-9]|\\k<"), "a backreference"),
)


def _translate(pattern: str) -> str:
    """The RE2 spelling of Java `pattern` (see the module docstring)."""
    out: list[str] = []
    i, length = 0, len(pattern)
    in_class = False
    while i < length:
        char = pattern[i]
        if char == "\\" and i + 1 < length:
            pair = pattern[i:i + 2]
            if pair in ("\\p", "\\P") and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                name = pattern[i + 3:end] if end > 0 else ""
                if name.removeprefix("Is") in _POSIX:
                    negate = "^" if pair == "\\P" else ""
                    posix = f"[:{negate}{_POSIX[name.removeprefix('Is')]}:]"
                    out.append(posix if in_class else f"[{posix}]")
                    i = end + 1
                    continue
            out.append("\\z" if pair == "\\Z" else pair)
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("^]", i + 1) or pattern.startswith("]", i + 1):
                skip = 3 if pattern[i + 1] == "^" else 2
                out.append(pattern[i:i + skip])
                i += skip
                continue
        elif pattern.startswith("(?>", i):
            out.append("(?:")
            i += 3
            continue
        elif char == "+" and out and out[-1] and out[-1][-1] in "*+?}" and not _escaped(out):
            i += 1  # possessive quantifier: RE2 never backtracks, plain greedy is the same
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _escaped(out: list[str]) -> bool:
    """The last emitted piece is an escape (`\\+`), so a `+` after it is a quantifier."""
    return len(out[-1]) == 2 and out[-1][0] == "\\"


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Any:
    """The compiled RE2 program for Java `pattern`; RegexError when RE2 cannot run it."""
    for construct, name in _UNSUPPORTED:
        if construct.search(pattern):
            raise RegexError(
                f"the regular expression `{pattern}` uses {name}, which the linear-time "
                f"engine (RE2) does not support"
            )
    try:
        return re2.compile(_translate(pattern), _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise RegexError(f"the regular expression `{pattern}` is invalid: {detail}") from None


def fullmatch(pattern: str, text: str) -> bool:
    """`text` matches all of `pattern`."""
    return compile_regex(pattern).fullmatch(text) is not None


def search(pattern: str, text: str) -> bool:
    """`pattern` matches somewhere in `text`."""
    return compile_regex(pattern).search(text) is not None


def sub(pattern: str, replacement: str, text: str) -> str:
    """Every match of `pattern` in `text` replaced (Python's `\\1` group syntax)."""
    return str(compile_regex(pattern).sub(replacement, text))


def split(pattern: str, text: str, maxsplit: int = 0) -> list[str]:
    """`text` split around the matches of `pattern` (Python's `re.split` semantics)."""
    return list(compile_regex(pattern).split(text, maxsplit=maxsplit))
