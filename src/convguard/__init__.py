"""convguard: keep conversation state, and end a conversation only as a last resort.

>>> import convguard as cg
>>> guard = cg.Guard()
>>> conv = guard.start()
>>> conv.send("Hello!").action
<Action.ALLOW: 'allow'>
"""

from contextlib import suppress
from typing import TYPE_CHECKING, Final

from . import detectors, stores
from ._errors import (
    ConfigurationError,
    ConversationEndedError,
    ConvguardError,
    DetectorError,
    FormatError,
    InvalidMessageError,
    InvalidOperationError,
    StoreConflictError,
    StoreCorruptError,
    StoreError,
    StoreUnavailableError,
    UnknownConversationError,
    UnknownMessageError,
    WayForward,
)
from ._feedback import FeedbackReview, review_feedback
from ._findings import DetectorFailure, Evidence, Finding
from ._guard import Conversation, Guard
from ._policy import (
    Action,
    GuidanceTemplates,
    LastResortPolicy,
    Policy,
    PolicyConfig,
    PolicyState,
    Status,
    Turn,
    Verdict,
)
from ._taxonomy import Category, CategoryClass
from ._tree import Branch, ConversationTree, Message, Role
from .detectors import DetectionContext, Detector, default_detectors
from .stores import AsyncStore, Feedback, MemoryStore, PostgresStore, SQLiteStore, Store

if TYPE_CHECKING:
    from . import formats, testing
    from ._aio import AsyncConversation, AsyncGuard
    from ._records import (
        ConversationRecord,
        FeedbackRecord,
        FindingRecord,
        MessageRecord,
        StateRecord,
        VerdictRecord,
    )
    from ._replay import Replay, ReplayBranch
    from ._tools import ToolResult, end_conversation_tool, report_risk_tool
    from .stores._postgres_aio import AsyncPostgresStore

    __version__: str

# What a turn does not need is imported on first use (PEP 562), so that
# `import convguard` stays light: the asyncio front end, the records and
# tools (pydantic models at the boundary), the formats, the testing kit.
_LAZY: Final = {
    "AsyncConversation": "._aio",
    "AsyncGuard": "._aio",
    "AsyncPostgresStore": ".stores._postgres_aio",
    "ConversationRecord": "._records",
    "FeedbackRecord": "._records",
    "FindingRecord": "._records",
    "MessageRecord": "._records",
    "Replay": "._replay",
    "ReplayBranch": "._replay",
    "StateRecord": "._records",
    "ToolResult": "._tools",
    "VerdictRecord": "._records",
    "end_conversation_tool": "._tools",
    "formats": ".formats",
    "report_risk_tool": "._tools",
    "testing": ".testing",
}

__all__ = [
    "Action",
    "AsyncConversation",
    "AsyncGuard",
    "AsyncPostgresStore",
    "AsyncStore",
    "Branch",
    "Category",
    "CategoryClass",
    "ConfigurationError",
    "Conversation",
    "ConversationEndedError",
    "ConversationRecord",
    "ConversationTree",
    "ConvguardError",
    "DetectionContext",
    "Detector",
    "DetectorError",
    "DetectorFailure",
    "Evidence",
    "Feedback",
    "FeedbackRecord",
    "FeedbackReview",
    "Finding",
    "FindingRecord",
    "FormatError",
    "Guard",
    "GuidanceTemplates",
    "InvalidMessageError",
    "InvalidOperationError",
    "LastResortPolicy",
    "MemoryStore",
    "Message",
    "MessageRecord",
    "Policy",
    "PolicyConfig",
    "PolicyState",
    "PostgresStore",
    "Replay",
    "ReplayBranch",
    "Role",
    "SQLiteStore",
    "StateRecord",
    "Status",
    "Store",
    "StoreConflictError",
    "StoreCorruptError",
    "StoreError",
    "StoreUnavailableError",
    "ToolResult",
    "Turn",
    "UnknownConversationError",
    "UnknownMessageError",
    "Verdict",
    "VerdictRecord",
    "WayForward",
    "__version__",
    "default_detectors",
    "detectors",
    "end_conversation_tool",
    "formats",
    "report_risk_tool",
    "review_feedback",
    "stores",
    "testing",
]


def _show_public(obj: object) -> None:
    """Make reprs and docs show the public path, not the private module."""
    if isinstance(obj, type) or callable(obj):
        with suppress(AttributeError, TypeError):  # builtins refuse
            obj.__module__ = "convguard"


def _version() -> str:
    """Return the installed version (importlib.metadata costs more than the rest)."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - on first use

    try:
        return version("convguard")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        from ._version import __version__  # noqa: PLC0415 - only from a source tree

        return __version__


def __getattr__(name: str) -> object:
    """Import a public name that a turn does not need on its first use."""
    import importlib  # noqa: PLC0415 - kept out of the package namespace

    value: object
    if name == "__version__":
        value = _version()
    elif name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        value = module if module.__name__ == f"{__name__}.{name}" else getattr(module, name)
        _show_public(value)
    else:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    globals()[name] = value  # later lookups find it without this function
    return value


for _name in __all__:
    if _name not in _LAZY and _name != "__version__":
        _show_public(globals()[_name])
del _name


def __dir__() -> list[str]:
    """List the public names only, as ``__all__`` does."""
    return list(__all__)


# The helpers used above are not part of the API.
del TYPE_CHECKING
