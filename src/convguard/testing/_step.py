"""A step of a scenario: one turn, and what it is expected to give.

A step is built by the fluent :class:`~convguard.testing.Scenario` API or
read from a row of a table or ``*.convguard.toml`` file (:func:`step_from_row`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, final

from attrs import frozen

from .. import _errors
from .._errors import ConfigurationError, ConvguardError
from .._policy import Action, EndRequester

__all__ = ["Op", "Step", "Target", "as_action", "as_error_class", "excerpt", "step_from_row"]

Op = Literal["send", "reply", "edit", "switch", "end", "new_chat"]
_OPS: Final = ("send", "reply", "edit", "switch", "end", "new_chat")
_STEP_KEYS: Final = frozenset({*_OPS, "text", "expect", "error", "label", "redirect", "reason"})
_EXCERPT: Final = 40

Target = str | int
"""A message to edit or switch to: a step's label, the Nth user message (1-based), or an id."""


def as_action(value: Action | str | None) -> Action | None:
    if value is None or isinstance(value, Action):
        return value
    try:
        return Action(str(value).lower())
    except ValueError:
        names = ", ".join(a.value for a in Action)
        msg = f"unknown action {value!r}; expected one of {names}"
        raise ConfigurationError(msg) from None


def as_error_class(value: type[ConvguardError] | str | None) -> type[ConvguardError] | None:
    if value is None:
        return None
    if isinstance(value, str):
        found = getattr(_errors, value, None) if value in _errors.__all__ else None
        if not (isinstance(found, type) and issubclass(found, ConvguardError)):
            names = ", ".join(
                n
                for n in _errors.__all__
                if isinstance(getattr(_errors, n), type)
                and issubclass(getattr(_errors, n), ConvguardError)
            )
            msg = f"unknown error class {value!r}; expected one of {names}"
            raise ConfigurationError(msg)
        return found
    if isinstance(value, type) and issubclass(value, ConvguardError):
        return value
    msg = f"an expected error must be a ConvguardError subclass, not {value!r}"
    raise ConfigurationError(msg)


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…")


@final
@frozen
class Step:
    """One operation of a scenario and what it should lead to.

    Attributes:
        op: ``send``, ``reply``, ``edit``, ``switch``, ``end`` (an end
            request) or ``new_chat``.
        text: The message text (send, reply, edit) or the end reason.
        target: The message to edit or switch to: a label, the Nth user
            message of the current chat (1-based), or a message id.
        expect: The expected action (user turns and end requests); ``None``
            accepts any action.
        raises: The expected error class; the step must raise it.
        label: A name for the message this step stores, for later edits
            and switches.
        redirect: For replies: the assistant redirected on its own.
        by: For end requests: ``"user"`` or ``"assistant"``.
    """

    op: Op
    text: str | None = None
    target: Target | None = None
    expect: Action | None = None
    raises: type[ConvguardError] | None = None
    label: str | None = None
    redirect: bool = False
    by: EndRequester = "user"

    def describe(self) -> str:
        """Return the step in one line, e.g. ``send '[abuse] hi'``."""
        if self.op == "send":
            text = f"send {excerpt(self.text or '')}"
        elif self.op == "reply":
            text = f"reply {excerpt(self.text or '')}" + (" (redirect)" if self.redirect else "")
        elif self.op == "edit":
            text = f"edit {self.target!r} -> {excerpt(self.text or '')}"
        elif self.op == "switch":
            text = f"switch to {self.target!r}"
        elif self.op == "end":
            text = f"end requested by {self.by}" + (f" ({self.text})" if self.text else "")
        else:
            text = "new chat"
        return text + (f" [{self.label}]" if self.label else "")

    def expected(self) -> str:
        """Return what the step expects, in words."""
        if self.raises is not None:
            return self.raises.__name__
        if self.expect is not None:
            return self.expect.value
        return "-"


def _text(row: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = row.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        msg = f"{key!r} must be a string, not {type(value).__name__}"
        raise ConfigurationError(msg)
    return value


def _target(row: Mapping[str, Any], key: str) -> Target:
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, str | int):
        msg = f"{key!r} names a message by label, number or id, not {value!r}"
        raise ConfigurationError(msg)
    return value


def step_from_row(row: Mapping[str, Any]) -> Step:
    if not isinstance(row, Mapping):
        msg = f"a step must be a table, not {type(row).__name__}"
        raise ConfigurationError(msg)
    unknown = sorted(set(row) - _STEP_KEYS)
    if unknown:
        msg = f"unknown keys {unknown}; a step takes {sorted(_STEP_KEYS)}"
        raise ConfigurationError(msg)
    ops = [op for op in _OPS if op in row]
    if len(ops) != 1:
        msg = f"a step names exactly one of {list(_OPS)}, found {ops or 'none'}"
        raise ConfigurationError(msg)
    op = ops[0]
    expect = as_action(row.get("expect"))
    raises = as_error_class(row.get("error"))
    label = _text(row, "label", required=False)
    redirect = row.get("redirect", False)
    if not isinstance(redirect, bool):
        msg = f"'redirect' must be true or false, not {redirect!r}"
        raise ConfigurationError(msg)
    if op == "send":
        return Step("send", _text(row, op), None, expect, raises, label)
    if op == "reply":
        return Step("reply", _text(row, op), None, expect, raises, label, redirect=redirect)
    return _other_step(row, op, expect, raises, label)


def _other_step(
    row: Mapping[str, Any],
    op: str,
    expect: Action | None,
    raises: type[ConvguardError] | None,
    label: str | None,
) -> Step:
    if op == "edit":
        return Step("edit", _text(row, "text"), _target(row, "edit"), expect, raises, label)
    if op == "switch":
        return Step("switch", None, _target(row, "switch"), expect, raises, label)
    if op == "end":
        by = row["end"]
        if by not in ("user", "assistant"):
            msg = f"'end' is 'user' or 'assistant', not {by!r}"
            raise ConfigurationError(msg)
        reason = _text(row, "reason", required=False)
        return Step("end", reason, None, expect, raises, label, by=by)
    if row["new_chat"] is not True:
        msg = "write a new chat as 'new_chat = true'"
        raise ConfigurationError(msg)
    return Step("new_chat")
