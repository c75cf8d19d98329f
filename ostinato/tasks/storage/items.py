"""Items files: Kestra's internal format, Amazon Ion text with one value per line.

Kestra writes Ion with unquoted field names (`{id:1,name:"a"}`), floats as `1.5e0`,
timestamps bare (`2024-01-01T00:00:00Z`) and typed nulls (`null.string`). We write JSON, one
value per line, which is valid Ion text (and what Kestra's readers accept), and read the
subset Kestra's flows produce: JSON, plus the Ion forms above (no annotations, blobs, clobs,
s-expressions or long strings). A line that is neither fails with its number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

#: Ion tokens that JSON does not have; the rest is JSON's
_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<punct>[{}\[\],:])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<symbol_quoted>'(?:[^'\\]|\\.)*')
  | (?P<timestamp>\d{4}-\d{2}(?:-\d{2})?(?:T[0-9:.]*(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w.-])
  | (?P<number>[-+]?(?:0x[0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eEdD][-+]?\d+)?|\.\d+)|[-+]inf|nan)
  | (?P<word>[A-Za-z_$][\w$]*(?:\.[A-Za-z]+)?)
""", re.VERBOSE | re.DOTALL)


class ItemsError(ValueError):
    """A line of an items file that is neither JSON nor the Ion subset read here."""


def parse_item(text: str) -> Any:
    """One item from one line: JSON, else Ion text (the subset described above)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    tokens = [m for m in _TOKEN.finditer(text) if m.lastgroup != "ws"]
    joined = sum(m.end() - m.start() for m in _TOKEN.finditer(text))
    if joined != len(text):
        raise ItemsError(f"not an Ion value: {text[:80]!r}")
    value, end = _value(tokens, 0)
    if end != len(tokens):
        raise ItemsError(f"more than one Ion value on a line: {text[:80]!r}")
    return value


def _value(tokens: list[re.Match[str]], at: int) -> tuple[Any, int]:
    if at >= len(tokens):
        raise ItemsError("an Ion value ends too early")
    token = tokens[at]
    kind, text = token.lastgroup, token.group()
    if kind == "punct" and text == "{":
        return _struct(tokens, at + 1)
    if kind == "punct" and text == "[":
        return _list(tokens, at + 1)
    if kind == "string":
        return json.loads(text), at + 1
    if kind == "symbol_quoted":
        return json.loads('"' + text[1:-1].replace('"', '\\"').replace("\\'", "'") + '"'), at + 1
    if kind == "timestamp":
        return text, at + 1
    if kind == "number":
        return _number(text), at + 1
    if kind == "word":
        return _word(text), at + 1
    raise ItemsError(f"unexpected `{text}` in an Ion value")


def _struct(tokens: list[re.Match[str]], at: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while tokens[at].group() != "}":
        key_token = tokens[at]
        if key_token.lastgroup == "string":
            key = json.loads(key_token.group())
        elif key_token.lastgroup == "symbol_quoted":
            key = key_token.group()[1:-1]
        else:
            key = key_token.group()
        if tokens[at + 1].group() != ":":
            raise ItemsError(f"expected `:` after field `{key}`")
        out[key], at = _value(tokens, at + 2)
        if tokens[at].group() == ",":
            at += 1
    return out, at + 1


def _list(tokens: list[re.Match[str]], at: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    while tokens[at].group() != "]":
        item, at = _value(tokens, at)
        out.append(item)
        if tokens[at].group() == ",":
            at += 1
    return out, at + 1


def _number(text: str) -> Any:
    clean = text.replace("_", "")
    if clean in ("+inf", "-inf", "nan"):
        return float(clean.replace("inf", "Infinity") if clean != "nan" else "nan")
    if clean.lower().startswith(("0x", "-0x")):
        return int(clean, 16)
    if re.fullmatch(r"[-+]?\d+", clean):
        return int(clean)
    return float(clean.replace("d", "e").replace("D", "e"))


def _word(text: str) -> Any:
    if text == "true":
        return True
    if text == "false":
        return False
    if text == "null" or text.startswith("null."):
        return None
    return text  # a symbol reads as its text


def read_items(lines: Iterable[str]) -> Iterator[Any]:
    """Each item of an items file's lines (blank lines skipped); ItemsError names the line."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            yield parse_item(text)
        except (ItemsError, IndexError) as error:
            raise ItemsError(f"line {number} of the items file: {error}") from None


def item_line(value: Any) -> str:
    """One item as a line of the file (JSON, which Ion readers accept), newline included."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
