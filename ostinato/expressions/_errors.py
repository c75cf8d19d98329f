"""The one exception type the expression package lets escape."""

from __future__ import annotations


class ExpressionError(Exception):
    """A template could not be parsed or rendered; ``str(e)`` is the user-facing message."""


class ParseError(Exception):
    """Internal: a syntax error at a character offset of the template."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos
