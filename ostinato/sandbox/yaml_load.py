"""YAML from users, loaded with a limit on its size once aliases are expanded.

An alias (`*a`) costs nothing to parse but stands for a whole copy of what it names:
ten levels of lists of ten aliases turn a 10 KB document into gigabytes the moment
anything serialises it. The loader charges every node as the composer builds it
(a scalar its length plus one, a collection one per node) and an alias the full
expanded size of what it refers to, so the count is the size of the document with every
alias written out, and loading stops at the first node over the limit, before the
constructor has built anything.
"""

from __future__ import annotations

from typing import Any

import yaml

from .limits import SETTINGS, limits


class YamlTooLarge(yaml.MarkedYAMLError):
    """The document, aliases expanded, is over `Limits.yaml_max_expanded`."""


class BoundedSafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses documents whose expanded size is over a limit,
    and aliases to a collection that contains them (they cannot be serialised)."""

    def __init__(self, stream: Any, max_expanded: int | None = None) -> None:
        super().__init__(stream)
        self.max_expanded = limits().yaml_max_expanded if max_expanded is None else max_expanded
        self.expanded = 0
        #: id(anchored node) -> its expanded size, known once the node is complete
        self._anchored_sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            node = super().compose_node(parent, index)
            size = self._anchored_sizes.get(id(node))
            if size is None and node is not None:
                raise yaml.MarkedYAMLError(  # reported where the collection starts
                    problem="a YAML alias refers to a collection that contains it",
                    problem_mark=node.start_mark,
                )
            self._charge(size or 0, mark)
            return node
        event = self.peek_event()
        before = self.expanded
        node = super().compose_node(parent, index)
        assert node is not None  # an event other than an alias always composes a node
        own = len(node.value) + 1 if isinstance(node, yaml.ScalarNode) else 1
        self._charge(own, node.start_mark)
        if event.anchor is not None:
            self._anchored_sizes[id(node)] = self.expanded - before
        return node

    def _charge(self, size: int, mark: Any) -> None:
        self.expanded += size
        if self.expanded > self.max_expanded:
            raise YamlTooLarge(
                problem=(
                    f"the YAML document is larger than the limit of {self.max_expanded} "
                    f"characters and nodes once its aliases are expanded "
                    f"({SETTINGS['yaml_max_expanded']})"
                ),
                problem_mark=mark,
            )


def load_yaml(text: str, max_expanded: int | None = None) -> Any:
    """`yaml.safe_load(text)` under the expanded-size limit (YamlTooLarge past it)."""
    loader = BoundedSafeLoader(text, max_expanded)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
