"""convguard: keep conversation state, and end a conversation only as a last resort.

>>> import convguard as cg
>>> guard = cg.Guard()
>>> conv = guard.start()
>>> conv.send("Hello!").action
<Action.ALLOW: 'allow'>
"""

from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from . import detectors, formats, stores
from ._aio import AsyncConversation, AsyncGuard
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
from ._records import (
    ConversationRecord,
    FeedbackRecord,
    FindingRecord,
    MessageRecord,
    Replay,
    ReplayBranch,
    StateRecord,
    VerdictRecord,
)
from ._taxonomy import Category, CategoryClass
from ._tools import ToolResult, end_conversation_tool, report_risk_tool
from ._tree import Branch, ConversationTree, Message, Role
from .detectors import DetectionContext, Detector, default_detectors
from .stores import Feedback, MemoryStore, PostgresStore, SQLiteStore, Store

try:
    __version__ = version("convguard")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    from ._version import __version__

__all__ = [
    "Action",
    "AsyncConversation",
    "AsyncGuard",
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

if TYPE_CHECKING:
    from . import testing


def __getattr__(name: str) -> object:
    """Import ``convguard.testing`` on first use: backends never pay for it."""
    if name == "testing":
        import importlib  # noqa: PLC0415 - kept out of the package namespace

        return importlib.import_module(".testing", __name__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


# Reprs and docs show the public path, not the private module.
for _name in __all__:
    if _name == "testing":
        continue
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        with suppress(AttributeError, TypeError):  # builtins refuse
            _obj.__module__ = "convguard"
del _name, _obj, suppress


def __dir__() -> list[str]:
    """List the public names only, as ``__all__`` does."""
    return list(__all__)


# The helpers used above are not part of the API.
del PackageNotFoundError, version, TYPE_CHECKING
