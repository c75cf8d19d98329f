"""Pebble expression parser: tokens -> a small AST (see ``_pebble`` for emission).

Precedence climbing with Pebble's operator table (CoreExtension plus Kestra's
``??``/``???``), so an expression groups exactly as Kestra would group it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._errors import ParseError
from ._lexer import Token


@dataclass
class Node:
    pass


@dataclass
class Lit(Node):
    value: Any


@dataclass
class Name(Node):
    name: str


@dataclass
class Attr(Node):
    obj: Node
    name: str


@dataclass
class Item(Node):
    obj: Node
    key: Node


@dataclass
class Args:
    positional: list[Node] = field(default_factory=list)
    named: list[tuple[str, Node]] = field(default_factory=list)


@dataclass
class Call(Node):
    name: str
    args: Args


@dataclass
class MethodCall(Node):
    obj: Node
    name: str
    args: Args


@dataclass
class Filter(Node):
    obj: Node
    name: str
    args: Args


@dataclass
class Test(Node):
    obj: Node
    name: str
    args: Args
    negated: bool


@dataclass
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass
class Unary(Node):
    op: str
    operand: Node


@dataclass
class Ternary(Node):
    cond: Node
    then: Node
    otherwise: Node


@dataclass
class ListLit(Node):
    items: list[Node]


@dataclass
class MapLit(Node):
    pairs: list[tuple[Node, Node]]


BINARY_PRECEDENCE: dict[str, int] = {
    "or": 10, "and": 15, "is": 20, "is not": 20, "contains": 20,
    "==": 30, "equals": 30, "!=": 30, ">": 30, "<": 30, ">=": 30, "<=": 30,
    "+": 40, "-": 40, "*": 60, "/": 60, "%": 60,
    "|": 100, "~": 110, "..": 120, "??": 120, "???": 120,
}
UNARY_OPERATORS = {"not", "+", "-"}
UNARY_PRECEDENCE = 500
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None, "none": None}


class Parser:
    def __init__(self, tokens: list[Token], end_pos: int) -> None:
        self.tokens = tokens
        self.i = 0
        self.end_pos = end_pos

    # -- token helpers -------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ParseError("Unexpected end of expression", self.end_pos)
        self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.is_(kind, value)

    def expect(self, kind: str, value: Any = None) -> Token:
        tok = self.next()
        if not tok.is_(kind, value):
            wanted = value if value is not None else kind
            raise ParseError(f'Unexpected token "{tok.value}", expected "{wanted}"', tok.pos)
        return tok

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def expect_end(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise ParseError(f'Unexpected token "{tok.value}"', tok.pos)

    # -- grammar -------------------------------------------------------
    def expression(self, min_precedence: int = 0) -> Node:
        tok = self.peek()
        left: Node
        if tok is not None and tok.kind == "op" and tok.value in UNARY_OPERATORS:
            self.next()
            left = Unary(tok.value, self.expression(UNARY_PRECEDENCE))
        else:
            left = self.primary()
        while True:
            tok = self.peek()
            if tok is None or tok.kind != "op" or tok.value not in BINARY_PRECEDENCE:
                break
            precedence = BINARY_PRECEDENCE[tok.value]
            if precedence < min_precedence:
                break
            self.next()
            if tok.value == "|":
                name = self.name_token()
                left = Filter(left, name, self.maybe_arguments())
            elif tok.value in ("is", "is not"):
                negated = tok.value == "is not"
                if self.at("op", "not"):
                    self.next()
                    negated = not negated
                name = self.name_token()
                left = Test(left, name, self.maybe_arguments(), negated)
            else:
                left = Binary(tok.value, left, self.expression(precedence + 1))
        if min_precedence == 0 and self.at("punct", "?"):
            self.next()
            then = self.expression()
            self.expect("punct", ":")
            left = Ternary(left, then, self.expression())
        return left

    def name_token(self) -> str:
        tok = self.next()
        if tok.kind == "name" or (tok.kind == "op" and tok.value.isalpha()):
            return str(tok.value)
        raise ParseError(f'Unexpected token "{tok.value}", expected a name', tok.pos)

    def primary(self) -> Node:
        tok = self.next()
        node: Node
        if tok.kind in ("num", "str"):
            node = Lit(tok.value)
        elif tok.kind == "name":
            lowered = str(tok.value).lower()
            if lowered in _LITERALS and not self.at("punct", "("):
                node = Lit(_LITERALS[lowered])
            elif self.at("punct", "("):
                node = Call(tok.value, self.arguments())
            else:
                node = Name(tok.value)
        elif tok.is_("punct", "("):
            node = self.expression()
            self.expect("punct", ")")
        elif tok.is_("punct", "["):
            items: list[Node] = []
            while not self.at("punct", "]"):
                if items:
                    self.expect("punct", ",")
                    if self.at("punct", "]"):
                        break
                items.append(self.expression())
            self.next()
            node = ListLit(items)
        elif tok.is_("punct", "{"):
            pairs: list[tuple[Node, Node]] = []
            while not self.at("punct", "}"):
                if pairs:
                    self.expect("punct", ",")
                    if self.at("punct", "}"):
                        break
                key = self.expression()
                self.expect("punct", ":")
                pairs.append((key, self.expression()))
            self.next()
            node = MapLit(pairs)
        else:
            raise ParseError(f'Unexpected token "{tok.value}"', tok.pos)
        return self.postfix(node)

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at("punct", "."):
                self.next()
                tok = self.next()
                if tok.kind == "num" and isinstance(tok.value, int):
                    node = Item(node, Lit(tok.value))
                    continue
                if not (tok.kind == "name" or (tok.kind == "op" and tok.value.isalpha())):
                    raise ParseError(f'Unexpected token "{tok.value}" after "."', tok.pos)
                if self.at("punct", "("):
                    node = MethodCall(node, tok.value, self.arguments())
                else:
                    node = Attr(node, tok.value)
            elif self.at("punct", "["):
                self.next()
                key = self.expression()
                self.expect("punct", "]")
                node = Item(node, key)
            else:
                return node

    def maybe_arguments(self) -> Args:
        return self.arguments() if self.at("punct", "(") else Args()

    def arguments(self) -> Args:
        self.expect("punct", "(")
        args = Args()
        first = True
        while not self.at("punct", ")"):
            if not first:
                self.expect("punct", ",")
            first = False
            tok, following = self.peek(), self.peek(1)
            if tok is not None and tok.kind == "name" and following is not None and following.is_("punct", "="):
                self.i += 2
                args.named.append((str(tok.value), self.expression()))
            else:
                if args.named:
                    raise ParseError("Positional argument after named argument", self.end_pos)
                args.positional.append(self.expression())
        self.next()
        return args
