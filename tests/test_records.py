"""Records: lossless export and import, replay, and malformed records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convguard as cg
from convguard import Action, Role
from tests.conftest import build_guard
from tests.test_policy import TallyPolicy, play_tally

OPS = st.lists(
    st.tuples(
        st.sampled_from(["send", "reply", "redirect", "edit", "switch", "end", "feedback"]),
        st.sampled_from(["hi", "[abuse] no", "[crisis] help", "ünïcödé ✓", "[hate] x"]),
        st.integers(0, 50),
    ),
    max_size=30,
)


def play(conv: cg.Conversation, ops: list[tuple[str, str, int]]) -> None:
    """Apply random operations, ignoring the ones an ended branch refuses."""
    for op, text, pick in ops:
        messages = conv.messages()
        try:
            if op == "send":
                conv.send(text)
            elif op in ("reply", "redirect"):
                conv.reply(text, redirect=op == "redirect")
            elif op == "edit":
                users = [m for m in messages if m.role is Role.USER]
                if users:
                    conv.edit(users[pick % len(users)].id, text)
            elif op == "switch" and messages:
                conv.switch(messages[pick % len(messages)].id)
            elif op == "end":
                conv.request_end(by="user", reason=text, confirmed=True)
            elif op == "feedback":
                conv.feedback("unexpected_end", comment=text)
        except cg.ConversationEndedError:
            pass


class TestRoundTrip:
    @given(OPS)
    @settings(max_examples=60, deadline=None)
    def test_export_json_import_export_is_lossless(self, ops: list[tuple[str, str, int]]) -> None:
        """Export, JSON, import into another guard, export again: the same record."""
        conv = build_guard().start(metadata={"user": "u1"})
        play(conv, ops)
        record = conv.export()
        again = cg.ConversationRecord.from_json(record.to_json())
        assert again == record
        other = build_guard()
        imported = other.import_record(again)
        assert imported.export() == record
        assert imported.messages() == conv.messages()
        assert imported.tip() == conv.tip()

    @given(OPS)
    @settings(max_examples=30, deadline=None)
    def test_plain_pydantic_json_round_trip(self, ops: list[tuple[str, str, int]]) -> None:
        """model_dump_json() writes "schema", so model_validate_json() reads the record back."""
        conv = build_guard().start(metadata={"user": "u1"})
        play(conv, ops)
        record = conv.export()
        text = record.model_dump_json()
        assert json.loads(text)["schema"] == "convguard.conversation/1"
        assert cg.ConversationRecord.model_validate_json(text) == record
        assert cg.ConversationRecord.model_validate(record.model_dump()) == record

    def test_title_survives(self) -> None:
        """A record's title is kept through import and export."""
        record = cg.ConversationRecord(id="c", title="Trip", messages=())
        assert build_guard().import_record(record).export().title == "Trip"


class TestReplay:
    def test_replay_finds_where_each_branch_ends(self) -> None:
        """Replay judges every branch, and lists what follows an end."""
        user = [
            {
                "id": f"u{i}",
                "parent_id": f"u{i - 1}" if i else None,
                "role": "user",
                "content": "[abuse] no",
            }
            for i in range(6)
        ]
        record = cg.ConversationRecord(id="c", messages=user, active_tip_id="u5")
        guard = build_guard()
        replay = guard.replay(record)
        assert replay.branches[0].actions == (
            Action.REDIRECT,
            Action.REDIRECT,
            Action.WARN,
            Action.END,
        )
        assert replay.branches[0].ended_at == "u3"
        assert replay.ended_at == ("u3",)
        assert replay.after_end == ("u4", "u5")
        assert guard.conversations().ids == []  # nothing stored

    def test_replay_in_shadow_mode_says_where_it_would_end(self) -> None:
        """In shadow mode nothing ends; the first would-be end is reported."""
        messages = [
            {
                "id": f"u{i}",
                "parent_id": f"u{i - 1}" if i else None,
                "role": "user",
                "content": "[abuse] no",
            }
            for i in range(5)
        ]
        record = cg.ConversationRecord(id="c", messages=messages)
        replay = build_guard(config={"mode": "shadow"}).replay(record)
        assert replay.branches[0].ended_at is None
        assert replay.branches[0].would_end_at == "u3"

    def test_replay_judges_end_requests_and_redirecting_replies(self) -> None:
        """Events asking to end are re-decided; redirecting replies count again."""
        guard = build_guard()
        conv = guard.start()
        conv.send("hi")
        conv.reply("no", redirect=True)
        conv.request_end(by="user", reason="done", confirmed=True)
        replay = guard.replay(conv.export())
        tip = conv.tip()
        assert tip is not None
        verdict = replay.verdict(tip.id)
        assert verdict is not None
        assert verdict.action is Action.END
        assert replay.messages[1].state.redirections == 1

    def test_refused_end_request_is_kept_without_ending(self) -> None:
        """An end event the policy now refuses leaves the branch open."""
        record = cg.ConversationRecord(
            id="c",
            messages=[
                {"id": "u", "role": "user", "content": "hi"},
                {
                    "id": "e",
                    "parent_id": "u",
                    "role": "event",
                    "content": "end",
                    "metadata": {"end_requested_by": "assistant"},
                },
            ],
        )
        replay = build_guard().replay(record)
        assert replay.verdicts["e"].action is Action.ALLOW
        assert not replay.messages[-1].ended

    def test_replay_judges_risk_reports(self) -> None:
        """A recorded risk report is judged again, and turns after it see the risk."""
        conv = build_guard().start()
        conv.send("hi")
        reported = conv.report_risk("self_harm_risk", reason="talks about a rope")
        after = conv.send("still here")
        record = conv.export()
        (event,) = (m for m in record.messages if m.metadata.get("risk_reported_by"))
        replay = build_guard().replay(record)
        judged = replay.verdict(event.id)
        assert judged is not None
        assert (judged.action, judged.at_risk) == (reported.action, True)
        assert after.message_id is not None
        assert replay.verdict(after.message_id) == after

    def test_replay_needs_a_record(self) -> None:
        """Passing something else is a FormatError."""
        with pytest.raises(cg.FormatError):
            build_guard().replay({"id": "c"})  # type: ignore[arg-type]


class TestImport:
    def test_evaluate_cuts_branches_at_their_end(self) -> None:
        """import_record(evaluate=True) stores judged nodes and stops each branch at its end."""
        messages = [
            {
                "id": f"u{i}",
                "parent_id": f"u{i - 1}" if i else None,
                "role": "user",
                "content": "[abuse] no",
            }
            for i in range(6)
        ]
        record = cg.ConversationRecord(id="c", messages=messages, active_tip_id="u5")
        conv = build_guard().import_record(record, evaluate=True)
        assert [m.id for m in conv.messages()] == ["u0", "u1", "u2", "u3"]
        assert conv.ended()
        tip = conv.tip()
        assert tip is not None
        assert tip.id == "u3"

    def test_as_is_import_refuses_messages_after_an_end(self) -> None:
        """Without evaluation, a node under an ended node is a FormatError."""
        ended = {"status": "ended"}
        record = cg.ConversationRecord(
            id="c",
            messages=[
                {"id": "a", "role": "user", "content": "x", "state": ended},
                {"id": "b", "parent_id": "a", "role": "user", "content": "y"},
            ],
        )
        guard = build_guard()
        with pytest.raises(cg.FormatError, match="ended"):
            guard.import_record(record)
        assert guard.conversations().ids == []

    def test_records_without_states_start_live(self) -> None:
        """Messages read from other products carry no state: they inherit the parent's."""
        record = cg.ConversationRecord(
            id="c", messages=[{"id": "a", "role": "user", "content": "hi"}]
        )
        conv = build_guard().import_record(record)
        assert conv.state() == cg.PolicyState()
        assert conv.send("more").action is Action.ALLOW

    def test_metadata_a_store_cannot_keep_is_a_format_error(self) -> None:
        """A record whose metadata is not JSON-compatible is refused, naming the field."""
        record = cg.ConversationRecord(id="c", metadata={"score": float("nan")})
        guard = build_guard()
        with pytest.raises(cg.FormatError) as caught:
            guard.import_record(record)
        assert (caught.value.conversation_id, caught.value.field) == ("c", "metadata")
        assert guard.conversations().ids == []

    def test_taken_id(self) -> None:
        """Importing an id the store holds is refused."""
        guard = build_guard()
        guard.start(conversation_id="c")
        with pytest.raises(cg.InvalidOperationError):
            guard.import_record(cg.ConversationRecord(id="c"))


class TestMalformed:
    @pytest.mark.parametrize(
        ("messages", "field", "match"),
        [
            ([{"id": "a", "role": "user", "content": "x"}] * 2, None, "twice"),
            ([{"id": "a", "parent_id": "zz", "role": "user", "content": "x"}], None, "missing"),
            (
                [
                    {"id": "a", "parent_id": "b", "role": "user", "content": "x"},
                    {"id": "b", "parent_id": "a", "role": "user", "content": "x"},
                ],
                None,
                "cycle",
            ),
            ([{"id": "a", "role": "robot", "content": "x"}], "messages.0.role", "Input"),
            ([{"id": "a", "role": "user", "content": 5}], "messages.0.content", "string"),
        ],
    )
    def test_bad_records_name_the_problem(
        self, messages: list[dict[str, Any]], field: str | None, match: str
    ) -> None:
        """Duplicates, missing parents, cycles and wrong types are FormatErrors."""
        with pytest.raises(cg.FormatError, match=match) as caught:
            cg.ConversationRecord(id="c", messages=messages)
        assert caught.value.conversation_id == "c"
        if field is not None:
            assert caught.value.field == field

    def test_unknown_tip(self) -> None:
        """The active tip must be one of the messages."""
        with pytest.raises(cg.FormatError, match="active_tip_id"):
            cg.ConversationRecord(id="c", active_tip_id="nope")

    @pytest.mark.parametrize("text", ["{nope", "[1, 2]", '{"id": ""}', b"\xff"])
    def test_bad_json(self, text: str | bytes) -> None:
        """Malformed JSON or a non-object is a FormatError."""
        with pytest.raises(cg.FormatError):
            cg.ConversationRecord.from_json(text)


class TestSchema:
    def test_schema_is_published(self) -> None:
        """The JSON schema describes the record and is valid JSON."""
        schema = cg.ConversationRecord.json_schema()
        assert schema["type"] == "object"
        assert {"id", "messages", "active_tip_id", "schema"} <= schema["properties"].keys()
        json.dumps(schema)

    def test_records_say_their_schema(self) -> None:
        """Every exported record names its schema version."""
        data = json.loads(build_guard().start().export().to_json())
        assert data["schema"] == "convguard.conversation/1"


class TestPolicyData:
    def guard(self) -> cg.Guard:
        """Return a deterministic guard whose policy keeps state of its own in ``data``."""
        return build_guard(policy=TallyPolicy())

    def test_export_json_import_keeps_data(self) -> None:
        """A custom policy's data survives export, JSON and an as-is import, node by node."""
        conv = self.guard().start()
        play_tally(conv)
        assert any(m.state.data for m in conv.messages())
        record = conv.export()
        again = cg.ConversationRecord.from_json(record.to_json())
        assert again == record
        imported = self.guard().import_record(again)
        assert imported.messages() == conv.messages()
        assert imported.export() == record

    def test_replay_and_evaluated_import_recompute_the_same_data(self) -> None:
        """Replaying the record with the same policy gives every node the same data."""
        conv = self.guard().start()
        play_tally(conv)
        record = conv.export()
        by_id = {m.id: m.state.data for m in conv.messages()}
        replay = self.guard().replay(record)
        assert {m.id: m.state.data for m in replay.messages} == by_id
        evaluated = self.guard().import_record(record, evaluate=True)
        assert {m.id: m.state.data for m in evaluated.messages()} == by_id

    def test_empty_data_is_left_out_of_the_json(self) -> None:
        """A state without data is written as before the field existed."""
        conv = build_guard().start()
        conv.send("[abuse] no")
        states = [m["state"] for m in json.loads(conv.export().to_json())["messages"]]
        assert all("data" not in s for s in states)
        assert "data" in cg.ConversationRecord.json_schema()["$defs"]["StateRecord"]["properties"]

    def test_an_old_record_without_data_loads(self) -> None:
        """A state record written before ``data`` existed loads with empty data."""
        state = {"status": "redirecting", "redirections": 1, "seen": ["abuse"]}
        record = cg.ConversationRecord.from_json(
            json.dumps(
                {
                    "id": "c",
                    "messages": [{"id": "a", "role": "user", "content": "x", "state": state}],
                }
            )
        )
        conv = build_guard().import_record(record)
        assert conv.state() == cg.PolicyState(
            status=cg.Status.REDIRECTING, redirections=1, seen=frozenset({"abuse"})
        )
        assert conv.state().data == {}

    @pytest.mark.parametrize(
        ("data", "match"),
        [
            ('{"n": NaN}', "JSON-compatible"),
            ("[1, 2]", "valid dictionary"),
            ('{"n": {"deep": Infinity}}', "JSON-compatible"),
        ],
    )
    def test_bad_data_is_a_format_error(self, data: str, match: str) -> None:
        """A record whose state data JSON cannot hold is refused, naming the field."""
        text = (
            '{"id": "c", "messages": [{"id": "a", "role": "user", "content": "x",'
            f' "state": {{"status": "active", "data": {data}}}}}]}}'
        )
        with pytest.raises(cg.FormatError, match=match) as caught:
            cg.ConversationRecord.from_json(text)
        assert (caught.value.conversation_id, caught.value.field) == ("c", "messages.0.state.data")

    def test_bad_data_from_python_is_a_format_error(self) -> None:
        """Data built in Python that JSON cannot hold is refused as well."""
        message = {"id": "a", "role": "user", "content": "x", "state": {"data": {"n": {1, 2}}}}
        with pytest.raises(cg.FormatError, match=r"PolicyState\.data must be JSON-compatible"):
            cg.ConversationRecord(id="c", messages=[message])
