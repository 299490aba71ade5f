"""Conversation trees: immutable messages, branches, and the tree itself.

Every edit or regeneration adds a sibling instead of changing a message, so
each branch (the path from a root to a leaf) keeps its own history and its
own policy state. A node stores the state *after* it, which makes reading a
branch's state O(1) and forking free: nothing is ever copied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, final

import attrs
from attrs import frozen

from ._errors import ConversationEndedError, InvalidOperationError, UnknownMessageError
from ._state import PolicyState, Status, Verdict

__all__ = ["EMPTY_METADATA", "Branch", "ConversationTree", "Message", "Role", "check_id"]

EMPTY_METADATA: Final[Mapping[str, Any]] = MappingProxyType({})


class Role(StrEnum):
    """Who (or what) a node speaks for."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"
    EVENT = "event"
    """Something that is not a message, such as an end granted on request."""


def check_id(value: object, what: str = "message id") -> str:
    """Accept an id a store can keep, or raise ``InvalidOperationError``.

    Args:
        value: The id.
        what: What it names, for the error.

    Returns:
        The id.

    Raises:
        InvalidOperationError: For a non-str, an empty id, or one holding a
            NUL or a lone surrogate (which no database can store).
    """
    if not isinstance(value, str):
        msg = f"{what} must be a str, not {type(value).__name__}"
        raise InvalidOperationError(msg)
    if not value:
        msg = f"{what} is empty"
        raise InvalidOperationError(msg)
    if "\x00" in value:
        msg = f"{what} {value!r} holds a NUL character"
        raise InvalidOperationError(msg)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{what} {value!r} holds a lone surrogate, which cannot be stored as UTF-8"
        raise InvalidOperationError(msg) from None
    return value


def _freeze_metadata(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not value:
        return EMPTY_METADATA
    if isinstance(value, MappingProxyType):
        return value
    return MappingProxyType(dict(value))


@final
@frozen
class Message:
    """One immutable node of a conversation tree.

    Attributes:
        id: Unique within the conversation.
        parent_id: The node it answers, ``None`` for a root.
        role: Who speaks.
        content: The text.
        created_at: When it was stored (timezone-aware).
        state: The policy state after this node.
        verdict: The verdict that produced it (user turns and events).
        metadata: Free-form JSON-compatible data from the backend.
        depth: Ancestors above it: 0 for a root. A branch's length is its
            leaf's depth plus one.
    """

    id: str
    parent_id: str | None
    role: Role
    content: str
    created_at: datetime
    state: PolicyState
    verdict: Verdict | None = None
    metadata: Mapping[str, Any] = attrs.field(
        default=EMPTY_METADATA, converter=_freeze_metadata, hash=False
    )
    depth: int = 0

    @classmethod
    def child_of(  # noqa: PLR0913 - the fields of one node, by keyword
        cls,
        parent: Message | None,
        *,
        id: str,  # noqa: A002 - named as the field it fills
        role: Role,
        content: str,
        created_at: datetime,
        state: PolicyState,
        verdict: Verdict | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Message:
        """Build a node under *parent*, its ``parent_id`` and ``depth`` taken from it.

        Args:
            parent: The node it answers; ``None`` for a root.
            id: Unique within the conversation.
            role: Who speaks.
            content: The text.
            created_at: When it is stored (timezone-aware).
            state: The policy state after this node.
            verdict: The verdict that produced it (user turns and events).
            metadata: Free-form JSON-compatible data from the backend.

        Returns:
            The node, ready for :meth:`ConversationTree.add`.
        """
        return cls(
            id=id,
            parent_id=None if parent is None else parent.id,
            role=role,
            content=content,
            created_at=created_at,
            state=state,
            verdict=verdict,
            metadata=metadata,
            depth=0 if parent is None else parent.depth + 1,
        )

    @property
    def ended(self) -> bool:
        """Whether the branch is ended at this node."""
        return self.state.status is Status.ENDED

    @property
    def at_risk(self) -> bool:
        """Whether this node carried protective evidence the conversation remembers."""
        return self.verdict is not None and self.verdict.at_risk


@final
@frozen
class Branch:
    """A path from a root to a leaf.

    Attributes:
        leaf_id: The leaf's id; pass it to ``Conversation.switch`` to continue.
        ended: Whether the leaf is ended.
        length: Nodes on the path.
        active: Whether the active tip lies on this branch.
    """

    leaf_id: str
    ended: bool
    length: int
    active: bool = False


@final
class ConversationTree:
    """An append-only tree of messages with an active tip.

    Adding, switching and reading a node's state are O(1); :meth:`path` is
    O(depth); listing children or branches is O(size). No operation copies a
    branch. Mutating methods check the tree invariants and leave the tree
    unchanged when they raise.

    Args:
        conversation_id: Used in error messages.
    """

    __slots__ = ("_ended_count", "_nodes", "at_risk", "conversation_id", "tip_id")

    def __init__(self, conversation_id: str = "") -> None:
        """Start an empty tree."""
        self.conversation_id = conversation_id
        self._nodes: dict[str, Message] = {}
        self._ended_count = 0
        self.tip_id: str | None = None
        self.at_risk = False
        """Some message, on any branch, carried protective evidence."""

    def __repr__(self) -> str:
        """Show the size and the tip."""
        return (
            f"<ConversationTree {self.conversation_id!r} messages={len(self._nodes)} "
            f"tip={self.tip_id!r}>"
        )

    def __len__(self) -> int:
        """Count the messages."""
        return len(self._nodes)

    def __contains__(self, message_id: object) -> bool:
        """Whether a message id is in the tree."""
        return message_id in self._nodes

    def __iter__(self) -> Iterator[Message]:
        """Yield every message in the order it was added (parents first)."""
        return iter(self._nodes.values())

    @property
    def tip(self) -> Message | None:
        """The active tip, ``None`` for an empty tree."""
        return None if self.tip_id is None else self._nodes[self.tip_id]

    @property
    def ended_branches(self) -> int:
        """How many branches have ended (every ended node is a leaf)."""
        return self._ended_count

    def get(self, message_id: str) -> Message:
        """Return a message by id.

        Raises:
            UnknownMessageError: When the id is not in the tree.
        """
        try:
            return self._nodes[message_id]
        except (KeyError, TypeError):
            if not isinstance(message_id, str):
                check_id(message_id)
            raise UnknownMessageError(self.conversation_id, str(message_id)) from None

    def add(self, message: Message, *, move_tip: bool = True) -> None:
        """Add *message* under its parent, and make it the tip.

        Args:
            message: A new node; its parent must be in the tree and not ended.
            move_tip: Make it the active tip.

        Raises:
            InvalidOperationError: For a duplicate id or a wrong depth.
            UnknownMessageError: When the parent is not in the tree.
            ConversationEndedError: When the parent is ended.
        """
        check_id(message.id)
        if message.id in self._nodes:
            msg = f"message id {message.id!r} is already in the conversation"
            raise InvalidOperationError(msg)
        if message.parent_id is None:
            depth = 0
        else:
            parent = self.get(message.parent_id)
            if parent.state.status is Status.ENDED:
                raise ConversationEndedError(self.conversation_id, parent.id)
            depth = parent.depth + 1
        if message.depth != depth:
            msg = f"message {message.id!r} has depth {message.depth}, expected {depth}"
            raise InvalidOperationError(msg)
        self._nodes[message.id] = message
        if message.state.status is Status.ENDED:
            self._ended_count += 1
        if message.at_risk:
            self.at_risk = True
        if move_tip:
            self.tip_id = message.id

    def append(self, message: Message) -> None:
        """Add *message* as a child of the active tip, and make it the tip.

        Raises:
            InvalidOperationError: When *message* is not a child of the tip.
            ConversationEndedError: When the tip is ended.
        """
        if message.parent_id != self.tip_id:
            msg = f"message {message.id!r} does not answer the tip {self.tip_id!r}"
            raise InvalidOperationError(msg)
        self.add(message)

    def edit(self, message_id: str, message: Message) -> None:
        """Add *message* as an edit of the user message *message_id* (a sibling).

        Raises:
            UnknownMessageError: When *message_id* is not in the tree.
            InvalidOperationError: When it is not a user message, or *message*
                is not its sibling.
        """
        self._sibling(message_id, message, Role.USER)

    def regenerate(self, message_id: str, message: Message) -> None:
        """Add *message* as another answer beside the assistant message *message_id*.

        Raises:
            UnknownMessageError: When *message_id* is not in the tree.
            InvalidOperationError: When it is not an assistant message, or
                *message* is not its sibling.
        """
        self._sibling(message_id, message, Role.ASSISTANT)

    def _sibling(self, message_id: str, message: Message, role: Role) -> None:
        original = self.get(message_id)
        if original.role is not role or message.role is not role:
            msg = f"{message_id!r} is a {original.role} message; expected {role} for both"
            raise InvalidOperationError(msg)
        if message.parent_id != original.parent_id:
            msg = f"message {message.id!r} is not a sibling of {message_id!r}"
            raise InvalidOperationError(msg)
        self.add(message)

    def switch(self, message_id: str) -> Message:
        """Make *message_id* the active tip.

        Raises:
            UnknownMessageError: When the id is not in the tree.
        """
        message = self.get(message_id)
        self.tip_id = message.id
        return message

    def ancestors(self, message_id: str, limit: int | None = None) -> list[Message]:
        """Return *message_id* and its ancestors, nearest first.

        Args:
            message_id: Where to start.
            limit: At most this many nodes (all when ``None``).

        Raises:
            UnknownMessageError: When the id is not in the tree.
        """
        nodes = self._nodes
        node: Message | None = self.get(message_id)
        out: list[Message] = []
        while node is not None and (limit is None or len(out) < limit):
            out.append(node)
            node = None if node.parent_id is None else nodes[node.parent_id]
        return out

    def path(self, message_id: str | None = None) -> list[Message]:
        """Return the branch from the root to *message_id* (the tip by default).

        Raises:
            UnknownMessageError: When the id is not in the tree.
        """
        target = self.tip_id if message_id is None else message_id
        if target is None:
            return []
        out = self.ancestors(target)
        out.reverse()
        return out

    def children(self, message_id: str | None) -> list[Message]:
        """Return the children of *message_id* (the roots for ``None``), oldest first.

        Raises:
            UnknownMessageError: When the id is not in the tree.
        """
        if message_id is not None:
            self.get(message_id)
        return [m for m in self._nodes.values() if m.parent_id == message_id]

    def leaves(self) -> list[Message]:
        """Return every leaf, in the order they were added."""
        parents = {m.parent_id for m in self._nodes.values()}
        return [m for m in self._nodes.values() if m.id not in parents]

    def branches(self) -> list[Branch]:
        """Return every branch, in the order their leaves were added."""
        # The tip may be an inner node: every leaf below it is on an active branch.
        below_tip: set[str | None] = set()
        if self.tip_id is not None:
            below_tip.add(self.tip_id)
            for m in self._nodes.values():
                if m.parent_id in below_tip:
                    below_tip.add(m.id)
        return [
            Branch(
                leaf_id=leaf.id,
                ended=leaf.state.status is Status.ENDED,
                length=leaf.depth + 1,
                active=leaf.id in below_tip,
            )
            for leaf in self.leaves()
        ]
