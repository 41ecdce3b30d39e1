"""YAML read safely, with every key of a mapping written once.

PyYAML keeps the last of two equal keys without a word, so a recipe that sets `learning_rate`
twice trains with the second value, and one with two `data:` sections silently drops every
key of the first. `load_unique` composes the document's nodes, refuses a mapping that holds a
key twice (`RepeatedKey`: the dotted key and both lines), and only then builds the data with
SafeLoader's own constructors, so what comes out is plain data exactly as `yaml.safe_load`
gives it. The walk visits each node once: time and memory grow with the recipe's size.
"""

from __future__ import annotations

from typing import Any

import yaml

MERGE_TAG = "tag:yaml.org,2002:merge"
NOT_A_SCALAR = object()  # a merge, or a list or mapping as a key (SafeLoader refuses those)


class RepeatedKey(yaml.YAMLError):
    """A mapping that names `key` (dotted from the top) twice, on lines `first` and `second`."""

    def __init__(self, key: str, first: int, second: int, section: bool) -> None:
        self.key, self.first, self.second, self.section = key, first, second, section
        super().__init__(f"key '{key}' written twice ({self.lines})")

    @property
    def lines(self) -> str:
        """Where the two are: "lines 3 and 7", or "line 3" for a flow mapping on one line."""
        if self.first == self.second:
            return f"line {self.first}"
        return f"lines {self.first} and {self.second}"


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that checks the composed document for repeated keys before building it."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        refuse_repeated_keys(self, node, (), set())
        return self.construct_document(node)


def load_unique(text: str) -> Any:
    """`yaml.safe_load(text)`, except that a key written twice in one mapping raises
    RepeatedKey."""
    loader = UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def refuse_repeated_keys(
    loader: yaml.SafeLoader, node: yaml.Node, path: tuple[str, ...], seen: set[int]
) -> None:
    """Walk the node tree from `node` (at dotted `path`); an alias reaches a node already
    walked, so `seen` keeps the walk finite on recursive documents."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            refuse_repeated_keys(loader, item, (*path, str(i)), seen)
    elif isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_of(loader, key_node)
            if key is not NOT_A_SCALAR:
                line = key_node.start_mark.line + 1
                if key in first_line:
                    section = isinstance(value_node, yaml.MappingNode)
                    raise RepeatedKey(".".join((*path, str(key))), first_line[key], line, section)
                first_line[key] = line
            inside = path if key is NOT_A_SCALAR else (*path, str(key))  # a merge adds keys here
            refuse_repeated_keys(loader, value_node, inside, seen)


def key_of(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """A scalar key as the mapping will hold it (`1` and `0x1` are one key). `<<: *base`
    merges another mapping's keys, which keys written beside it may override: not a key."""
    if isinstance(node, yaml.ScalarNode) and node.tag != MERGE_TAG:
        return loader.construct_object(node)
    return NOT_A_SCALAR
