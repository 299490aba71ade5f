"""One message per line: load, stream and dump."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest

import convguard as cg
from convguard.formats import jsonl

FIXTURES = Path(__file__).parent / "fixtures" / "formats"


def lines_of(*items: dict[str, Any] | str) -> io.StringIO:
    """Return an in-memory JSONL file of *items* (strings are written as they are)."""
    text = "".join((i if isinstance(i, str) else json.dumps(i)) + "\n" for i in items)
    return io.StringIO(text)


def line(conversation: str, message: str, parent: str | None, **extra: Any) -> dict[str, Any]:
    """Return one message line."""
    return {
        "conversation_id": conversation,
        "id": message,
        "parent_id": parent,
        "role": "user",
        "content": "Hi",
        **extra,
    }


def judged(guard: cg.Guard) -> cg.ConversationRecord:
    """Return an exported conversation with states, verdicts and two branches."""
    conv = guard.start(system="Be kind.", metadata={"title": "x"})
    first = conv.send("[abuse] one")
    conv.reply("Let us talk about something else.")
    conv.edit(first.message_id or "", "A kinder question")
    conv.reply("Gladly.")
    return conv.export()


class TestLoad:
    """Reading JSONL files."""

    def test_groups_scattered_lines(self) -> None:
        """Lines of one conversation are grouped wherever they are in the file."""
        j1, j2 = jsonl.load(FIXTURES / "messages.jsonl")
        assert (j1.id, j2.id) == ("j-1", "j-2")
        assert [m.id for m in j1.messages] == ["1", "2", "3", "3b"]
        assert [(m.id, m.parent_id) for m in j2.messages] == [("1", None), ("2", "1")]

    def test_active_tip(self) -> None:
        """A line marked active is the tip; otherwise the conversation's last line is."""
        j1, j2 = jsonl.load(FIXTURES / "messages.jsonl")
        assert j1.active_tip_id == "3b"
        assert j2.active_tip_id == "2"

    def test_fields(self) -> None:
        """Times in ISO or epoch form, metadata and roles are read."""
        j1, _ = jsonl.load(FIXTURES / "messages.jsonl")
        system, user, assistant, _ = j1.messages
        assert system.created_at == datetime(2026, 1, 1, tzinfo=UTC)
        assert user.created_at == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
        assert assistant.metadata == {"model": "m"}
        assert system.role == "system"

    def test_round_trip(self, tmp_path: Path) -> None:
        """dump then load gives the same records."""
        records = jsonl.load(FIXTURES / "messages.jsonl")
        path = tmp_path / "out.jsonl"
        jsonl.dump(records, path)
        assert jsonl.load(path) == list(records)

    def test_round_trip_of_judged_records(self, guard: cg.Guard) -> None:
        """States and verdicts of an exported conversation survive a round trip."""
        record = judged(guard)
        out = io.BytesIO()
        jsonl.dump(record, out)
        out.seek(0)
        (back,) = jsonl.load(out)
        assert back.messages == record.messages
        assert back.active_tip_id == record.active_tip_id
        assert any(m.verdict is not None for m in back.messages)

    def test_detected(self, tmp_path: Path) -> None:
        """cg.formats.load tells JSONL from its first line, from a path or a directory."""
        path = FIXTURES / "messages.jsonl"
        assert cg.formats.detect(path) == "jsonl"
        assert [r.id for r in cg.formats.load(path)] == ["j-1", "j-2"]
        (tmp_path / "log.jsonl").write_text(path.read_text())
        assert [r.id for r in jsonl.load(tmp_path)] == ["j-1", "j-2"]
        assert [r.id for r in cg.formats.load(tmp_path, format="jsonl")] == ["j-1", "j-2"]


class TestStream:
    """iter_load: one conversation in memory at a time."""

    def test_yields_each_conversation(self) -> None:
        """Conversations come one by one, as soon as their lines end."""
        stream = lines_of(line("a", "1", None), line("a", "2", "1"), "", line("b", "1", None))
        records = jsonl.iter_load(stream)
        first = next(records)
        assert first.id == "a"
        assert stream.tell() > 0
        assert [r.id for r in records] == ["b"]

    def test_scattered_lines_are_refused(self) -> None:
        """A conversation whose lines come back later is an error naming the line."""
        stream = lines_of(line("a", "1", None), line("b", "1", None), line("a", "2", "1"))
        with pytest.raises(cg.FormatError, match="line 3: the lines") as caught:
            list(jsonl.iter_load(stream))
        assert caught.value.conversation_id == "a"

    def test_skip(self) -> None:
        """errors='skip' yields the good conversations and reports the rest."""
        stream = lines_of(
            line("a", "1", None),
            line("b", "1", "0"),
            "{oops",
            line("a", "2", None),
            line("c", "1", None),
        )
        skipped: list[cg.FormatError] = []
        records = list(jsonl.iter_load(stream, errors="skip", skipped=skipped))
        assert [r.id for r in records] == ["a", "c"]
        assert [e.conversation_id for e in skipped] == [None, "b", "a"]
        assert list(jsonl.iter_load(lines_of("[]"), errors="skip")) == []

    def test_raise(self) -> None:
        """By default the first bad conversation raises."""
        with pytest.raises(cg.FormatError, match="missing"):
            list(jsonl.iter_load(lines_of(line("b", "1", "0"))))


class TestMalformed:
    """Bad lines name the file, the line, the conversation and the field."""

    def test_skip_keeps_the_good_ones(self) -> None:
        """errors='skip' keeps j-1 and lists the bad line and the two bad conversations."""
        path = FIXTURES / "bad.jsonl"
        result = jsonl.load(path, errors="skip")
        assert [r.id for r in result] == ["j-1"]
        assert [(e.conversation_id, e.field) for e in result.skipped] == [
            (None, None),
            ("j-bad", "parent_id"),
            ("j-type", "content"),
        ]
        assert all(e.path == str(path) for e in result.skipped)
        assert "line 4" in result.skipped[0].reason

    def test_raise_names_the_line(self) -> None:
        """The first bad line raises with its number."""
        with pytest.raises(cg.FormatError, match="line 4: not valid JSON"):
            jsonl.load(FIXTURES / "bad.jsonl")

    @pytest.mark.parametrize(
        ("items", "field", "words"),
        [
            (
                [line("a", "1", None), line("a", "1", None)],
                "id",
                "line 2: message id '1' appears twice",
            ),
            (
                [line("a", "1", "2"), line("a", "2", "1")],
                "parent_id",
                "line 1: message '1' is in a cycle",
            ),
            ([line("a", "1", None, colour="red")], "colour", "unknown field"),
            ([line("a", "", None)], "id", "line 1: expected a non-empty string"),
            ([line("a", "1", None, parent_id=5)], "parent_id", "line 1"),
            ([line("a", "1", None, created_at="soon")], "created_at", "line 1"),
            ([line("a", "1", None, role="boss")], "role", "line 1"),
            ([line("a", "1", None, metadata=[1])], "metadata", "line 1"),
            ([{"id": "1"}], "conversation_id", "line 1"),
            (["[1]"], None, "line 1: expected a JSON object"),
        ],
    )
    def test_each_case(self, items: list[Any], field: str | None, words: str) -> None:
        """Duplicates, cycles, unknown fields and wrong types are named."""
        with pytest.raises(cg.FormatError, match=words) as caught:
            jsonl.load(lines_of(*items))
        assert caught.value.field == field

    def test_unreadable(self) -> None:
        """Bytes that are not UTF-8 are a FormatError."""
        with pytest.raises(cg.FormatError, match="cannot read"):
            jsonl.load(io.BytesIO(b'{"a": 1}\n\xff\xfe\n'))

    def test_dump_refuses_other_things(self) -> None:
        """dump writes records only, and says where it cannot write."""
        with pytest.raises(cg.FormatError, match="writes ConversationRecords"):
            jsonl.dump(["x"], io.StringIO())  # type: ignore[list-item]

        class Full(io.StringIO):
            def write(self, text: str) -> int:
                raise OSError(28, "No space left on device")

        record = jsonl.load(FIXTURES / "messages.jsonl")[0]
        with pytest.raises(cg.FormatError, match="No space"):
            jsonl.dump(record, Full())


class TestPackage:
    """cg.formats.load and dump across formats."""

    def test_convguard_records(self, tmp_path: Path, guard: cg.Guard) -> None:
        """Records dumped in convguard's own format load back unchanged, array or lines."""
        record = judged(guard)
        path = tmp_path / "records.json"
        cg.formats.dump([record, record.model_copy(update={"id": "copy"})], path)
        assert cg.formats.detect(path) == "convguard"
        assert cg.formats.load(path)[0] == record
        lines = tmp_path / "records.jsonl"
        lines.write_text(record.to_json() + "\n\n" + record.to_json() + "\n")
        assert cg.formats.detect(lines) == "convguard"
        assert cg.formats.load(lines) == [record, record]
        single = tmp_path / "one.json"
        single.write_text(record.to_json(indent=2))
        assert cg.formats.load(single, format="convguard") == [record]

    def test_convguard_lines_skip(self, tmp_path: Path, guard: cg.Guard) -> None:
        """A broken line of records is skipped and reported."""
        record = judged(guard)
        path = tmp_path / "records.jsonl"
        path.write_text(record.to_json() + "\n{broken\n" + record.to_json() + "\n")
        result = cg.formats.load(path, format="convguard", errors="skip")
        assert len(result) == 2
        assert "line 2" in str(result.skipped[0])

    def test_dump_formats(self, guard: cg.Guard) -> None:
        """dump writes jsonl, openai and anthropic, and refuses unknown names."""
        record = judged(guard)
        names: tuple[Literal["jsonl", "openai", "anthropic"], ...] = (
            "jsonl",
            "openai",
            "anthropic",
        )
        for name in names:
            out = io.StringIO()
            cg.formats.dump(record, out, format=name)
            out.seek(0)
            assert cg.formats.load(out, format=name)[0].messages
        with pytest.raises(cg.FormatError, match="cannot write"):
            cg.formats.dump(record, io.StringIO(), format="chatgpt")  # type: ignore[arg-type]

    def test_unknown_or_unclear(self, tmp_path: Path) -> None:
        """An unknown format name, or content no format fits, is a FormatError."""
        with pytest.raises(cg.FormatError, match="unknown format"):
            cg.formats.load(FIXTURES / "messages.jsonl", format="csv")  # type: ignore[arg-type]
        with pytest.raises(cg.FormatError, match="cannot tell"):
            cg.formats.load(io.StringIO('{"hello": 1}'))
        with pytest.raises(cg.FormatError, match="cannot tell"):
            cg.formats.detect(io.StringIO("5"))
        with pytest.raises(cg.FormatError, match="not valid JSON"):
            cg.formats.detect(io.StringIO("5\n6\n"))
        with pytest.raises(cg.FormatError, match="not valid JSON"):
            cg.formats.detect(io.StringIO('{"a": 1}\n{"b": 2}\n'))
        assert cg.formats.load(io.StringIO("[]")) == []
        (tmp_path / "x.json").write_bytes(b"\xff")
        with pytest.raises(cg.FormatError, match="cannot read"):
            cg.formats.load(tmp_path / "x.json")

    def test_every_format_through_the_package(self) -> None:
        """Each fixture loads through cg.formats.load with the right conversation count."""
        counts = {
            "chatgpt_conversations.json": 2,
            "claude_conversations.json": 2,
            "openai_request.json": 1,
            "anthropic_request.json": 1,
            "messages.jsonl": 2,
        }
        for name, count in counts.items():
            assert len(cg.formats.load(FIXTURES / name)) == count, name
        assert len(cg.formats.load(FIXTURES / "chatgpt_split")) == 2
