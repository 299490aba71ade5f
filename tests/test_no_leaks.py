"""Bad input of any type gets a ConvguardError, never a foreign exception.

Hypothesis throws arbitrary values at every public entry point; whatever is
raised must be a ConvguardError, and a refused call must leave the
conversation as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import convguard as cg
from tests.conftest import build_guard

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), st.integers(), max_size=3),
    st.just(object()),
    st.just("\ud800"),
    st.just("\x00"),
)

CALLS: dict[str, Callable[[cg.Guard, cg.Conversation, Any, Any], object]] = {
    "send": lambda g, c, a, b: c.send(a, metadata=b),
    "reply": lambda g, c, a, b: c.reply(a, metadata=b),
    "add": lambda g, c, a, b: c.add(a, b),
    "edit": lambda g, c, a, b: c.edit(a, b),
    "regenerate": lambda g, c, a, b: c.regenerate(a, b),
    "switch": lambda g, c, a, b: c.switch(a),
    "get": lambda g, c, a, b: c.get(a),
    "path": lambda g, c, a, b: c.path(a),
    "request_end": lambda g, c, a, b: c.request_end(by=a, reason=b),
    "feedback": lambda g, c, a, b: c.feedback(a, comment=b),
    "feedback_on": lambda g, c, a, b: c.feedback("x", message_id=a),
    "tool_call": lambda g, c, a, b: c.handle_tool_call(a, b),
    "tool_args": lambda g, c, a, b: c.handle_tool_call("end_conversation", a),
    "start": lambda g, c, a, b: g.start(system=a, metadata=b),
    "start_id": lambda g, c, a, b: g.start(conversation_id=a, locale=b),
    "open": lambda g, c, a, b: g.open(a),
    "record": lambda g, c, a, b: cg.ConversationRecord.from_json(a),
    "record_dict": lambda g, c, a, b: cg.ConversationRecord.from_dict(a),
    "config": lambda g, c, a, b: cg.PolicyConfig.from_dict({"max_redirections": a}),
    "config_json": lambda g, c, a, b: cg.PolicyConfig.from_json(a),
    "import": lambda g, c, a, b: g.import_record(a),
    "tool": lambda g, c, a, b: cg.end_conversation_tool(a),
}


class TestNoForeignErrors:
    @given(st.sampled_from(sorted(CALLS)), junk, junk)
    @settings(max_examples=400, deadline=None)
    def test_only_convguard_errors_escape(self, name: str, first: Any, second: Any) -> None:
        """Whatever the input, a failure is a ConvguardError and changes nothing."""
        guard = build_guard()
        conv = guard.start()
        conv.send("hello")
        before = (conv.messages(), conv.tip(), guard.conversations())
        try:
            CALLS[name](guard, conv, first, second)
        except cg.ConvguardError:
            assert (conv.messages(), conv.tip(), guard.conversations()) == before
