"""Kestra (Pebble) expressions rendered with Jinja2's immutable sandbox.

Public surface (implemented in private modules of this package):
    render(template, context) -> str
    render_value(value, context) -> Any   (recursive over dicts and lists)
    is_truthy(rendered) -> bool
    referenced_variables(template) -> set[str]
    ExpressionError
"""

from ._errors import ExpressionError
from ._render import (
    MAX_RENDERED_BYTES,
    is_truthy,
    referenced_variables,
    render,
    render_value,
)

__all__ = [
    "MAX_RENDERED_BYTES",
    "ExpressionError",
    "is_truthy",
    "referenced_variables",
    "render",
    "render_value",
]
