"""Tokenizer for the inside of Pebble ``{{ }}`` and ``{% %}`` blocks.

Mirrors Pebble's LexerImpl: operators are matched before names (word operators
only when not followed by an identifier character), brackets are tracked so a
closing delimiter inside a map literal does not end the block, and string
literals are unescaped the Pebble way (only the quote and the backslash).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._errors import ParseError

# Longest first, as Pebble sorts its operator regex by length.
_OPERATORS = sorted(
    [
        "???", "??", "is not", "is", "not", "and", "or", "contains", "equals",
        "==", "!=", ">=", "<=", ">", "<", "+", "-", "*", "/", "%", "|", "~", "..",
    ],
    key=len,
    reverse=True,
)
_OPERATOR_RE = re.compile(
    "|".join(
        re.escape(op) + (r"(?![A-Za-z0-9_])" if op[-1].isalpha() else "")
        for op in _OPERATORS
    )
)
_NAME_RE = re.compile(r"[^\W\d]\w*")
_LONG_RE = re.compile(r"[0-9]+L")
_NUMBER_RE = re.compile(r"[0-9]+(\.[0-9]+)?")
_STRING_RE = re.compile(
    r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'',
    re.DOTALL,
)
_PUNCTUATION = "()[]{}?:.,|="
_PAIRS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Token:
    kind: str  # "op", "name", "num", "str", "punct"
    value: Any
    pos: int

    def is_(self, kind: str, value: Any = None) -> bool:
        return self.kind == kind and (value is None or self.value == value)


@dataclass(frozen=True)
class Block:
    """The tokens of one block and where the block's closing delimiter ends."""

    tokens: list[Token]
    end: int  # index just after the closing delimiter
    trim_right: bool  # closed with '-}}' / '-%}'


def line_of(source: str, pos: int) -> int:
    return source.count("\n", 0, pos) + 1


def _unescape(raw: str, quote: str) -> str:
    # Pebble: unescape the quote first, then the backslash; nothing else.
    return raw.replace("\\" + quote, quote).replace("\\\\", "\\")


def tokenize_block(source: str, pos: int, closer: str) -> Block:
    """Tokenize from ``pos`` until ``closer`` ('}}' or '%}') at bracket depth 0."""
    tokens: list[Token] = []
    brackets: list[str] = []
    n = len(source)
    while True:
        while pos < n and source[pos].isspace():
            pos += 1
        if pos >= n:
            raise ParseError(f"Unclosed block, expected `{closer}`", pos)
        if not brackets:
            if source.startswith("-" + closer, pos):
                return Block(tokens, pos + 3, True)
            if source.startswith(closer, pos):
                return Block(tokens, pos + 2, False)
        m = _OPERATOR_RE.match(source, pos)
        if m:
            tokens.append(Token("op", m.group(), pos))
            pos = m.end()
            continue
        m = _NAME_RE.match(source, pos)
        if m:
            tokens.append(Token("name", m.group(), pos))
            pos = m.end()
            continue
        m = _LONG_RE.match(source, pos)
        if m:
            tokens.append(Token("num", int(m.group()[:-1]), pos))
            pos = m.end()
            continue
        m = _NUMBER_RE.match(source, pos)
        if m:
            text = m.group()
            tokens.append(Token("num", float(text) if m.group(1) else int(text), pos))
            pos = m.end()
            continue
        char = source[pos]
        if char in _PUNCTUATION:
            if char in _PAIRS:
                brackets.append(char)
            elif char in ")]}":
                if not brackets:
                    raise ParseError(f'Unexpected "{char}"', pos)
                expected = _PAIRS[brackets.pop()]
                if expected != char:
                    raise ParseError(f'Unclosed "{expected}"', pos)
            tokens.append(Token("punct", char, pos))
            pos += 1
            continue
        m = _STRING_RE.match(source, pos)
        if m:
            if m.group(1) is not None:
                value = _unescape(m.group(1), '"')
            else:
                value = _unescape(m.group(2), "'")
            tokens.append(Token("str", value, pos))
            pos = m.end()
            continue
        if char in "\"'":
            raise ParseError(f"Unclosed string starting with {char}", pos)
        raise ParseError(f"Unexpected character [{char}]", pos)
