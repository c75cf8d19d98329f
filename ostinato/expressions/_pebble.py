"""Translate Pebble template source into Jinja2 source.

Only ``{{ }}`` and ``{% %}`` blocks are rewritten; text, comments and
raw/verbatim sections are copied.  Every rewritten block keeps the newlines it
had so Jinja's line numbers match the original template.  Expressions are
re-emitted from a Pebble AST (``_parser``), fully parenthesised, with the
Pebble-only operators turned into calls of the helpers of ``_runtime``.
"""

from __future__ import annotations

import re

from ._errors import ExpressionError, ParseError
from ._lexer import Block, line_of, tokenize_block
from ._parser import (
    Args,
    Attr,
    Binary,
    Call,
    Filter,
    Item,
    ListLit,
    Lit,
    MapLit,
    MethodCall,
    Name,
    Node,
    Parser,
    Ternary,
    Test,
    Unary,
)

_START = re.compile(r"\{\{|\{%|\{#")
_JINJA_KEYWORDS = frozenset(
    ["and", "or", "not", "in", "is", "if", "else", "elif", "for", "endfor", "true", "false", "none", "True", "False", "None", "recursive", "block", "endblock", "with", "endwith", "set", "endset", "macro", "call", "filter", "import", "include", "from", "extends", "raw", "endraw", "pass"]
)
# Tests that must see an undefined value without failing on it.
_LENIENT_TESTS = frozenset({"defined", "undefined", "null", "none"})
_CALL_OPERATORS = {
    "*": "__mul", "/": "__div", "%": "__mod", "~": "__concat",
    "contains": "__contains", "..": "__range",
}
_NATIVE_OPERATORS = {
    "==": "==", "equals": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=",
    ">=": ">=", "+": "+", "-": "-", "and": "and", "or": "or",
}
_LOOP_RENAMES = {"index": "index0", "revindex": "revindex0"}


def _literal(value: object) -> str:
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return repr(value)


def _attr_name(name: str) -> str:
    if name.isidentifier() and name not in _JINJA_KEYWORDS:
        return "." + name
    return "[" + repr(name) + "]"


def _args(args: Args, prefix: list[str] | None = None) -> str:
    parts = list(prefix or [])
    parts.extend(emit(a) for a in args.positional)
    parts.extend(f"{name}={emit(value)}" for name, value in args.named)
    return ", ".join(parts)


def emit(node: Node, lenient: bool = False) -> str:
    """Jinja source for ``node``; ``lenient`` lets an undefined value flow out
    (as an Undefined) instead of failing, for the left side of ``??``."""
    if isinstance(node, Lit):
        return _literal(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Attr):
        name = node.name
        if isinstance(node.obj, Name) and node.obj.name == "loop":
            name = _LOOP_RENAMES.get(name, name)
        if lenient:
            return f"__get({emit(node.obj, True)}, {name!r})"
        return emit(node.obj) + _attr_name(name)
    if isinstance(node, Item):
        if lenient:
            return f"__getitem({emit(node.obj, True)}, {emit(node.key, True)})"
        return f"{emit(node.obj)}[{emit(node.key)}]"
    if isinstance(node, Call):
        return f"{node.name}({_args(node.args)})"
    if isinstance(node, MethodCall):
        return f"{emit(node.obj)}{_attr_name(node.name)}({_args(node.args)})"
    if isinstance(node, Filter):
        if node.name == "default":
            return f"({emit(node.obj, True)}|default({_args(node.args)}))"
        if lenient:
            return f"__lf({_args(node.args, [emit(node.obj, True), repr(node.name)])})"
        call = f"({_args(node.args)})" if node.args.positional or node.args.named else ""
        return f"({emit(node.obj)}|{node.name}{call})"
    if isinstance(node, Test):
        subject = emit(node.obj, lenient or node.name in _LENIENT_TESTS)
        call = f"({_args(node.args)})" if node.args.positional or node.args.named else ""
        negation = "not " if node.negated else ""
        return f"({subject} is {negation}{node.name}{call})"
    if isinstance(node, Binary):
        return _emit_binary(node, lenient)
    if isinstance(node, Unary):
        return f"({node.op} {emit(node.operand)})"
    if isinstance(node, Ternary):
        return (
            f"({emit(node.then, lenient)} if {emit(node.cond)} "
            f"else {emit(node.otherwise, lenient)})"
        )
    if isinstance(node, ListLit):
        return "[" + ", ".join(emit(i) for i in node.items) + "]"
    if isinstance(node, MapLit):
        return "{" + ", ".join(f"{emit(k)}: {emit(v)}" for k, v in node.pairs) + "}"
    raise AssertionError(f"unknown node {node!r}")


def _emit_binary(node: Binary, lenient: bool) -> str:
    op = node.op
    if op in ("??", "???"):
        wrap = "__ncw" if op == "??" else "__ncwu"
        left = emit(node.left, True)
        right = emit(node.right, lenient)
        return f"__ncu({wrap}({left}) or {right})"
    if op in _CALL_OPERATORS:
        return f"{_CALL_OPERATORS[op]}({emit(node.left)}, {emit(node.right)})"
    return f"({emit(node.left)} {_NATIVE_OPERATORS[op]} {emit(node.right)})"


def _full_expression(block: Block, start: int = 0) -> str:
    parser = Parser(block.tokens[start:], block.end)
    node = parser.expression()
    parser.expect_end()
    return emit(node)


def _tag(block: Block) -> str | None:
    """Jinja source of a ``{% %}`` tag body; None to copy the tag unchanged."""
    tokens = block.tokens
    if not tokens:
        raise ParseError("Empty tag", block.end)
    head = tokens[0]
    name = str(head.value)
    if name == "if":
        return "if " + _full_expression(block, 1)
    if name in ("elseif", "elif"):
        return "elif " + _full_expression(block, 1)
    if name == "for":
        if len(tokens) < 4 or tokens[1].kind != "name" or not tokens[2].is_("name", "in"):
            raise ParseError("Expected `for <name> in <expression>`", head.pos)
        return f"for {tokens[1].value} in __iter({_full_expression(block, 3)})"
    if name == "set":
        if len(tokens) < 4 or tokens[1].kind != "name" or not tokens[2].is_("punct", "="):
            raise ParseError("Expected `set <name> = <expression>`", head.pos)
        return f"set {tokens[1].value} = {_full_expression(block, 3)}"
    if name in ("else", "endif", "endfor") and len(tokens) == 1:
        return name
    return None


_RAW_END = re.compile(r"\{%(-?)\s*end(raw|verbatim)\s*(-?)%\}")


def translate(source: str) -> str:
    """Jinja2 source equivalent to the Pebble template ``source``.

    Raises ExpressionError (message naming the template and line) on syntax errors.
    """
    out: list[str] = []
    pos = 0
    try:
        while True:
            match = _START.search(source, pos)
            if match is None:
                out.append(source[pos:])
                return "".join(out)
            out.append(source[pos:match.start()])
            opener = match.group()
            if opener == "{#":
                end = source.find("#}", match.end())
                if end < 0:
                    raise ParseError("Unclosed comment", match.start())
                out.append(source[match.start():end + 2])
                pos = end + 2
                continue
            trim_left = source.startswith("-", match.end())
            closer = "}}" if opener == "{{" else "%}"
            block = tokenize_block(source, match.end() + trim_left, closer)
            newlines = "\n" * source.count("\n", match.start(), block.end)
            open_s = opener + ("-" if trim_left else "")
            close_s = ("-" if block.trim_right else "") + closer
            pos = block.end
            if opener == "{{":
                if not block.tokens:
                    raise ParseError("Empty expression", match.start())
                out.append(f"{open_s} {_full_expression(block)} {newlines}{close_s}")
                continue
            if block.tokens and str(block.tokens[0].value) in ("raw", "verbatim") and len(block.tokens) == 1:
                end_match = _RAW_END.search(source, block.end)
                if end_match is None:
                    raise ParseError("Unclosed raw/verbatim block", match.start())
                text = source[block.end:end_match.start()]
                out.append(f"{open_s} raw {newlines}{close_s}{text}")
                out.append(f"{{%{end_match.group(1)} endraw {end_match.group(3)}%}}")
                pos = end_match.end()
                continue
            body = _tag(block)
            if body is None:
                out.append(source[match.start():block.end])
            else:
                out.append(f"{open_s} {body} {newlines}{close_s}")
    except ParseError as error:
        raise ExpressionError(
            f"{error} in the expression `{source}` at line {line_of(source, error.pos)}"
        ) from None
