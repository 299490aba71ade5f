"""``Frozen``: the base of the built-in detectors, immutable once built."""

from __future__ import annotations

from attrs.exceptions import FrozenInstanceError

__all__ = ["Frozen"]


class Frozen:
    """Refuse every assignment after ``__init__``, which sets slots with ``object.__setattr__``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse: a built-in detector is immutable once built.

        Raises:
            FrozenInstanceError: Always.
        """
        raise FrozenInstanceError

    def __delattr__(self, name: str) -> None:
        """Refuse, as :meth:`__setattr__` does.

        Raises:
            FrozenInstanceError: Always.
        """
        raise FrozenInstanceError
