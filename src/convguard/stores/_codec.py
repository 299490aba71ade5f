"""Compact JSON for what database stores keep: states, verdicts, metadata, times.

The shapes are private to the stores and versioned with their schema. A
value that cannot be decoded means the database holds something convguard
never wrote: :class:`~convguard.StoreCorruptError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .._errors import InvalidMessageError, StoreCorruptError
from .._findings import DetectorFailure, Evidence, Finding
from .._state import Action, PolicyState, Status, Verdict
from .._tree import Message, Role

__all__ = [
    "dump_metadata",
    "dump_state",
    "dump_time",
    "dump_verdict",
    "load_message",
    "load_metadata",
    "load_time",
]

_DEFAULT_STATE: Final = PolicyState()
_DUMPS: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _json(value: object) -> object:
    """Parse a JSON column: text from SQLite, already parsed from PostgreSQL."""
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def _object(value: object) -> Mapping[str, Any]:
    data = _json(value)
    if not isinstance(data, dict):
        msg = f"a JSON column holds {type(data).__name__}, not an object"
        raise StoreCorruptError(msg)
    return data


def dump_time(value: datetime) -> str:
    """Return a timestamp as ISO 8601 text (offset kept, so it round-trips)."""
    return value.isoformat()


def load_time(value: object) -> datetime:
    """Parse a timestamp written by :func:`dump_time`."""
    try:
        return datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        msg = f"a timestamp column holds {value!r}"
        raise StoreCorruptError(msg) from exc


def dump_metadata(value: Mapping[str, Any]) -> str:
    """Return metadata as compact JSON.

    Raises:
        InvalidMessageError: When it is not JSON-compatible.
    """
    try:
        return _DUMPS(dict(value))
    except (TypeError, ValueError) as exc:
        msg = f"metadata must be JSON-compatible: {exc}"
        raise InvalidMessageError(msg) from exc


def load_metadata(value: object) -> dict[str, Any]:
    """Parse metadata written by :func:`dump_metadata`."""
    try:
        return dict(_object(value))
    except ValueError as exc:
        msg = "a metadata column holds malformed JSON"
        raise StoreCorruptError(msg) from exc


def _state_fields(state: PolicyState) -> dict[str, Any]:
    # Only what differs from a fresh state: most nodes carry two or three keys.
    out: dict[str, Any] = {"status": state.status.value}
    for name in (
        "redirections",
        "warned",
        "benign_streak",
        "exempt",
        "exempt_until",
        "user_turns",
        "turn_counted",
        "detector_failed",
    ):
        value = getattr(state, name)
        if value != getattr(_DEFAULT_STATE, name):
            out[name] = value
    if state.seen:
        out["seen"] = sorted(state.seen)
    if state.data:  # a custom policy's own state; rows written before it have none
        out["data"] = dict(state.data)
    return out


def dump_state(state: PolicyState) -> str:
    """Return a policy state as compact JSON."""
    return _DUMPS(_state_fields(state))


def _load_state(data: Mapping[str, Any]) -> PolicyState:
    fields = dict(data)
    fields["status"] = Status(fields["status"])
    fields["seen"] = frozenset(fields.get("seen", ()))
    return PolicyState(**fields)


def dump_verdict(verdict: Verdict | None, message: Message) -> str | None:
    """Return the verdict held by *message* as compact JSON (``None`` for none)."""
    if verdict is None:
        return None
    out: dict[str, Any] = {"action": verdict.action.value}
    if verdict.findings:
        out["findings"] = [
            [
                f.category,
                f.score,
                f.detector,
                None if f.evidence is None else [f.evidence.start, f.evidence.end, f.evidence.term],
            ]
            for f in verdict.findings
        ]
    if verdict.reasons:
        out["reasons"] = list(verdict.reasons)
    if verdict.guidance:
        out["guidance"] = verdict.guidance
    if verdict.errors:
        out["errors"] = [[e.detector, e.kind, e.message] for e in verdict.errors]
    if verdict.would_end:
        out["would_end"] = True
    if verdict.at_risk:
        out["at_risk"] = True
    # A verdict normally shares its node's state and id; keep them only if not.
    if verdict.state != message.state:
        out["state"] = _state_fields(verdict.state)
    if verdict.message_id != message.id:
        out["message_id"] = verdict.message_id
    return _DUMPS(out)


def _load_verdict(data: Mapping[str, Any], state: PolicyState, message_id: str) -> Verdict:
    findings = tuple(
        Finding(
            category,
            score,
            detector,
            None if evidence is None else Evidence(*evidence),
        )
        for category, score, detector, evidence in data.get("findings", ())
    )
    return Verdict(
        action=Action(data["action"]),
        state=_load_state(data["state"]) if "state" in data else state,
        message_id=data.get("message_id", message_id),
        findings=findings,
        reasons=tuple(data.get("reasons", ())),
        guidance=data.get("guidance", ""),
        errors=tuple(DetectorFailure(*e) for e in data.get("errors", ())),
        would_end=bool(data.get("would_end", False)),
        # Written before the risk record existed: a SUPPORT verdict carried it.
        at_risk=bool(data.get("at_risk", data["action"] == Action.SUPPORT.value)),
    )


def load_message(  # noqa: PLR0913 - one database row, column by column
    message_id: str,
    parent_id: str | None,
    role: str,
    content: str,
    created_at: object,
    state: object,
    verdict: object,
    metadata: object,
    depth: int,
) -> Message:
    """Build a message from the columns of its row.

    Raises:
        StoreCorruptError: When a column holds what convguard never wrote.
    """
    try:
        node_state = _load_state(_object(state))
        return Message(
            message_id,
            parent_id,
            Role(role),
            content,
            load_time(created_at),
            node_state,
            None if verdict is None else _load_verdict(_object(verdict), node_state, message_id),
            load_metadata(metadata),
            depth,
        )
    except StoreCorruptError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        msg = f"message {message_id!r} cannot be read back: {exc}"
        raise StoreCorruptError(msg) from exc
