"""Load a flow's YAML safely, keeping the 1-based line of every key and list item.

Lines are keyed by path tuples of the loaded data (`("tasks", 0, "then", 1, "format")`),
which is how error messages and checks find the line of what they report.
"""

from __future__ import annotations

from typing import Any

import yaml

from ostinato.sandbox.yaml_load import BoundedSafeLoader

PathT = tuple[str | int, ...]


def load_yaml_with_lines(source: str) -> tuple[Any, dict[PathT, int]]:
    """Load YAML with safe_load semantics, plus the 1-based line of every key / list item.

    The map is keyed by path tuples (`("tasks", 0, "then", 1, "format")`) of the loaded data.
    A document larger than the YAML limit once its aliases are expanded raises
    `YamlTooLarge` (a `yaml.MarkedYAMLError` naming the limit) while it is composed.
    """
    loader = BoundedSafeLoader(source)
    try:
        node = loader.get_single_node()
        lines: dict[PathT, int] = {}
        if node is not None:
            lines[()] = node.start_mark.line + 1
            walk = _NodeWalk(lines)
            walk.visit(node, ())
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, lines


#: like SnakeYAML's maxAliasesForCollections: bounds "billion laughs" documents
MAX_COLLECTION_ALIASES = 50


class _NodeWalk:
    """Walks the composed YAML tree once, recording lines and refusing alias bombs."""

    def __init__(self, lines: dict[PathT, int]) -> None:
        self.lines = lines
        self.keys = yaml.SafeLoader("")
        self.seen: set[int] = set()
        self.stack: set[int] = set()
        self.aliases = 0

    def visit(self, node: yaml.Node, path: PathT) -> None:
        if not isinstance(node, yaml.CollectionNode):
            return
        if id(node) in self.stack:
            raise yaml.MarkedYAMLError(
                problem="a YAML alias refers to a collection that contains it",
                problem_mark=node.start_mark,
            )
        if id(node) in self.seen:  # an alias: its content was walked where it was anchored
            self.aliases += 1
            if self.aliases > MAX_COLLECTION_ALIASES:
                raise yaml.MarkedYAMLError(
                    problem=f"more than {MAX_COLLECTION_ALIASES} aliases to collections",
                    problem_mark=node.start_mark,
                )
            return
        self.seen.add(id(node))
        self.stack.add(id(node))
        try:
            self._children(node, path)
        finally:
            self.stack.discard(id(node))

    def _children(self, node: yaml.Node, path: PathT) -> None:
        lines, keys = self.lines, self.keys
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if (
                    not isinstance(key_node, yaml.ScalarNode)
                    or key_node.tag == "tag:yaml.org,2002:merge"
                ):
                    continue
                try:
                    key = keys.construct_object(key_node, deep=True)
                except yaml.YAMLError:
                    continue
                child = (*path, key_text(key))
                lines[child] = key_node.start_mark.line + 1
                self.visit(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                lines[child] = item.start_mark.line + 1
                self.visit(item, child)


def key_text(key: Any) -> str:
    """A mapping key as it appears in paths (always a string; YAML booleans lower-case)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return key if isinstance(key, str) else str(key)
