"""The shape free-form JSON data must have: string keys, and a bounded depth.

Message metadata and a policy's own state (``PolicyState.data``) are both
checked here, before ``json`` sees them: it would turn a non-string key into
a string without a word, and recurse until the stack runs out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["MAX_DEPTH", "shape_problem"]

#: How deep free-form data may nest.
MAX_DEPTH: Final = 64


def shape_problem(value: object, what: str) -> str | None:
    """Say what makes *value* unfit as *what* (a non-string key, too deep), or ``None``.

    Walks iteratively, so no nesting depth can exhaust the stack.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH and isinstance(item, Mapping | list | tuple):
            return f"{what} nests deeper than {MAX_DEPTH} levels"
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"{what} keys must be strings, found {key!r}"
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
    return None
