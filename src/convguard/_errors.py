"""The errors convguard raises, all under one root.

A harmful message is not an error: it is an outcome, reported on a
:class:`~convguard.Verdict`. Exceptions are for misuse and bad input, and they
carry the offending data as attributes so a backend can react without parsing
messages::

    ConvguardError
    ├── ConversationEndedError          the branch (or conversation) is ended
    ├── UnknownConversationError        LookupError
    ├── UnknownMessageError             LookupError
    ├── InvalidMessageError             ValueError: text or metadata refused
    ├── InvalidOperationError           ValueError: a call that makes no sense here
    ├── ConfigurationError              ValueError: a bad config or plug-in
    ├── FormatError                     ValueError: a file that cannot be read
    ├── DetectorError                   a detector failed (recorded on verdicts)
    └── StoreError                      the store failed; nothing was half-written
        ├── StoreConflictError          compare-and-set lost too many times
        ├── StoreUnavailableError       the database cannot be reached
        └── StoreCorruptError           the database holds what convguard never wrote

Errors raised by foreign code (pydantic, sqlite3, psycopg, a detector) are
wrapped in one of these with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

__all__ = [
    "ConfigurationError",
    "ConversationEndedError",
    "ConvguardError",
    "DetectorError",
    "FormatError",
    "InvalidMessageError",
    "InvalidOperationError",
    "StoreConflictError",
    "StoreCorruptError",
    "StoreError",
    "StoreUnavailableError",
    "UnknownConversationError",
    "UnknownMessageError",
    "WayForward",
]


class WayForward(StrEnum):
    """What a user can still do after a conversation (or branch) has ended."""

    NEW_CHAT = "new_chat"
    EDIT = "edit"
    FEEDBACK = "feedback"


_ALL_WAYS: Final = (WayForward.NEW_CHAT, WayForward.EDIT, WayForward.FEEDBACK)
_CLOSED_WAYS: Final = (WayForward.NEW_CHAT, WayForward.FEEDBACK)


class ConvguardError(Exception):
    """The root of every error convguard raises."""


class ConversationEndedError(ConvguardError):
    """Refuse a write to an ended branch or a closed conversation.

    Attributes:
        conversation_id: The conversation written to.
        message_id: The ended leaf the write would have gone under (``None``
            when the whole conversation is closed).
        closed: ``True`` when ``max_ended_branches`` closed the conversation,
            so editing is no longer a way forward.
        ways_forward: What the user can still do.
    """

    def __init__(
        self,
        conversation_id: str,
        message_id: str | None,
        *,
        closed: bool = False,
    ) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        self.closed = closed
        self.ways_forward: tuple[WayForward, ...] = _CLOSED_WAYS if closed else _ALL_WAYS
        if closed:
            msg = (
                f"conversation {conversation_id!r} is closed: too many of its "
                "branches have ended; start a new chat or send feedback"
            )
        else:
            msg = (
                f"the branch ending at {message_id!r} of conversation "
                f"{conversation_id!r} has ended; start a new chat, edit an "
                "earlier message, or send feedback"
            )
        super().__init__(msg)


class UnknownConversationError(ConvguardError, LookupError):
    """Raise for a conversation id the store does not hold.

    Attributes:
        conversation_id: The id that was asked for.
    """

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"no conversation with id {conversation_id!r}")


class UnknownMessageError(ConvguardError, LookupError):
    """Raise for a message id that is not in the conversation.

    Attributes:
        conversation_id: The conversation searched.
        message_id: The id that was asked for.
    """

    def __init__(self, conversation_id: str, message_id: str) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        super().__init__(f"no message with id {message_id!r} in conversation {conversation_id!r}")


class InvalidMessageError(ConvguardError, ValueError):
    """Refuse a message whose text or metadata cannot be stored.

    Attributes:
        reason: What is wrong, in words.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidOperationError(ConvguardError, ValueError):
    """Refuse a call that makes no sense for its arguments.

    For example editing an assistant message, or regenerating a user one.
    """


class ConfigurationError(ConvguardError, ValueError):
    """Refuse a bad configuration value or plug-in.

    Attributes:
        errors: Each problem found, in words (several when a whole config
            was validated at once).
    """

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        self.errors = tuple(errors) or (message,)
        super().__init__(message)


class FormatError(ConvguardError, ValueError):
    """Refuse a file or record that cannot be read.

    Attributes:
        path: The file, when there is one.
        conversation_id: The conversation that is malformed, when known.
        field: The field that is wrong, when known.
        reason: What is wrong, in words.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        conversation_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.conversation_id = conversation_id
        self.field = field
        where = [
            f"{label} {value!r}"
            for label, value in (
                ("file", path),
                ("conversation", conversation_id),
                ("field", field),
            )
            if value is not None
        ]
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason)


class DetectorError(ConvguardError):
    """A detector failed: raised, timed out, or returned something not a finding.

    During a turn this is never raised: it is recorded on
    ``Verdict.errors``. It is raised when a detector is registered wrong.

    Attributes:
        detector: The detector's name.
    """

    def __init__(self, detector: str, reason: str) -> None:
        self.detector = detector
        super().__init__(f"detector {detector!r}: {reason}")


class StoreError(ConvguardError):
    """The store failed. Nothing was half-written."""


class StoreConflictError(StoreError):
    """Another writer kept changing the conversation; the write was not applied.

    Attributes:
        conversation_id: The contended conversation.
        message_id: For a reply written ``to=`` a message: that message, which
            is no longer the active tip (retrying cannot help; ``None``
            otherwise).
    """

    def __init__(
        self, conversation_id: str, detail: str = "", *, message_id: str | None = None
    ) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        msg = f"conversation {conversation_id!r} was changed by another writer"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class StoreUnavailableError(StoreError):
    """The database cannot be reached, or is locked or read-only."""


class StoreCorruptError(StoreError):
    """The database holds data convguard did not write, or cannot read."""
