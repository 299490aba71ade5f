"""`convguard replay` and `convguard tree`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

import convguard as cg
from convguard._cli import cmd_replay, main
from convguard.testing import ScriptedDetector

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
EXPORT = str(FIXTURES / "chatgpt_replay.json")
ESSAY = "6650a1b2-0000-4000-8000-00000000000c"


@pytest.fixture(autouse=True)
def scripted_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the commands' detectors flag the fixture's insults, whatever the built-ins do."""
    monkeypatch.setattr(
        cmd_replay,
        "default_detectors",
        lambda: [ScriptedDetector({"useless": "abuse", "stupid bot": "abuse"})],
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command line; return its status, standard output and standard error."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


class TestReplay:
    """convguard replay FILE."""

    def test_report(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Each branch shows its actions and where it ends; flagged turns show why."""
        status, out, _ = run(capsys, "replay", EXPORT, "--plain")
        assert status == 0
        assert "== Essay help  [" + ESSAY + "] ==" in out
        assert "e-u2: REDIRECT  'you are useless'" in out
        assert "e-u4: WARN" in out
        assert "e-u5: END" in out
        assert "branch to e-a5: allow, redirect, redirect, warn, end; ends at e-u5" in out
        assert "branch to e-a3b (active): allow, redirect, allow; stays open" in out
        assert "left out after an end: e-a5" in out
        assert "every turn allowed" in out  # the trip conversation

    def test_reasons_are_shown(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The verdict reasons (detector and rule) are printed under each flagged turn."""
        _, out, _ = run(capsys, "replay", EXPORT, "--plain")
        flagged = out.split("e-u5: END", 1)[1].split("branch to", 1)[0]
        assert "abuse" in flagged
        assert len([line for line in flagged.splitlines() if line.startswith("    ")]) >= 1

    def test_summary_table(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A summary table counts branches redirected, warned and ended per conversation."""
        _, out, _ = run(capsys, "replay", EXPORT, "--plain")
        summary = out.split("== Summary ==", 1)[1]
        rows = [line.split() for line in summary.splitlines() if line.strip()]
        assert ["Essay", "help", "2", "2", "1", "1", "0"] in rows
        assert ["Weekend", "trip", "3", "0", "0", "0", "0"] in rows
        assert ["total", "(2)", "5", "2", "1", "1", "0"] in rows

    def test_rich_output(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With rich, the same report prints with a table."""
        status, out, _ = run(capsys, "replay", EXPORT)
        assert status == 0
        assert "Branches per conversation" in out
        assert "ends at e-u5" in out

    def test_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--json prints one document with branches, turns and totals."""
        _, out, _ = run(capsys, "replay", EXPORT, "--json")
        document = json.loads(out)
        essay = document["conversations"][0]
        assert essay["id"] == ESSAY
        ended = next(b for b in essay["branches"] if b["leaf_id"] == "e-a5")
        assert ended == {
            "leaf_id": "e-a5",
            "active": False,
            "actions": ["allow", "redirect", "redirect", "warn", "end"],
            "ended_at": "e-u5",
            "would_end_at": None,
        }
        turn = next(t for t in essay["turns"] if t["message_id"] == "e-u5")
        assert turn["action"] == "end"
        assert turn["findings"][0]["category"] == "abuse"
        assert turn["reasons"]
        assert essay["after_end"] == ["e-a5"]
        assert document["summary"] == {
            "conversations": 2,
            "branches": 5,
            "redirected": 2,
            "warned": 1,
            "ended": 1,
            "would_end": 0,
        }
        assert document["skipped"] == []

    def test_policy_file(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """--policy reads a TOML config: in shadow mode branches would end but stay open."""
        policy = tmp_path / "policy.toml"
        policy.write_text('[policy]\nmode = "shadow"\n')
        _, out, _ = run(capsys, "replay", EXPORT, "--policy", str(policy), "--plain")
        assert "would end at e-u5 (shadow mode)" in out
        assert "e-u5: REDIRECT (would end)" in out
        _, out, _ = run(capsys, "replay", EXPORT, "--policy", str(policy), "--json")
        assert json.loads(out)["summary"]["would_end"] == 1

    def test_bad_policy(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """A bad policy file exits 2 with the error."""
        policy = tmp_path / "policy.toml"
        policy.write_text("max_redirections = -1\n")
        status, _, err = run(capsys, "replay", EXPORT, "--policy", str(policy))
        assert status == 2
        assert "max_redirections" in err

    def test_malformed_files(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A malformed conversation stops the replay (exit 2) unless --errors skip lists it."""
        bad = str(FIXTURES / "chatgpt_bad.json")
        status, _, err = run(capsys, "replay", bad)
        assert status == 2
        assert "bad-cycle" in err
        assert "chatgpt_bad.json" in err
        status, out, _ = run(capsys, "replay", bad, "--errors", "skip", "--plain")
        assert status == 0
        assert "== Skipped 4 ==" in out
        assert "bad-duplicate" in out
        _, out, _ = run(capsys, "replay", bad, "--errors", "skip", "--json")
        skipped = json.loads(out)["skipped"]
        assert skipped[0]["conversation_id"] == "bad-cycle"
        assert skipped[0]["field"] == "mapping.x-1.parent"

    def test_several_files_and_formats(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Several files of different formats replay together; --format forces one."""
        _, out, _ = run(
            capsys,
            "replay",
            EXPORT,
            str(FIXTURES / "messages.jsonl"),
            str(FIXTURES / "anthropic_request.json"),
            "--json",
        )
        assert json.loads(out)["summary"]["conversations"] == 5
        status, out, _ = run(
            capsys, "replay", str(FIXTURES / "messages.jsonl"), "--format", "jsonl", "--plain"
        )
        assert status == 0
        assert "(untitled)  [j-1]" in out

    def test_no_active_tip_and_no_conversations(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A conversation without an active tip has no active branch; an empty file totals 0."""
        record = cg.ConversationRecord(
            id="c", messages=[cg.MessageRecord(id="m", role=cg.Role.USER, content="Hi")]
        )
        path = tmp_path / "records.json"
        cg.formats.dump(record, path)
        _, out, _ = run(capsys, "replay", str(path), "--json")
        assert json.loads(out)["conversations"][0]["branches"][0]["active"] is False
        empty = tmp_path / "empty.json"
        empty.write_text("[]")
        _, out, _ = run(capsys, "replay", str(empty), "--json")
        assert json.loads(out)["summary"]["branches"] == 0

    def test_a_tip_inside_the_tree(self) -> None:
        """When the active tip has children, every branch through it counts as active."""
        messages = [
            cg.MessageRecord(id="u", role=cg.Role.USER, content="Hi"),
            cg.MessageRecord(id="a", parent_id="u", role=cg.Role.ASSISTANT, content="Yo"),
            cg.MessageRecord(id="b", parent_id="u", role=cg.Role.ASSISTANT, content="Hey"),
        ]
        record = cg.ConversationRecord(id="c", messages=messages, active_tip_id="u")
        assert cmd_replay._active_leaves(record) == {"a", "b"}

    def test_the_default_guard(self) -> None:
        """Without --policy the command uses the default policy with the default detectors."""
        guard = cmd_replay.make_guard(argparse.Namespace(policy=None))
        assert isinstance(guard.policy, cg.LastResortPolicy)
        assert [d.name for d in guard.detectors] == ["scripted"]


class TestTree:
    """convguard tree FILE."""

    def test_plain_tree(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Runs share a depth, branches go one level deeper, tip and end are marked."""
        status, out, _ = run(capsys, "tree", EXPORT, "--conversation", ESSAY, "--plain")
        assert status == 0
        lines = out.splitlines()
        assert lines[0] == f"Essay help  [{ESSAY}]  12 messages"
        assert lines[1] == "├── user: Hi, can you help with my essay?  [e-u1]"
        assert lines[4] == "└── assistant: Let us get back to the essay.  [e-a2]"
        assert lines[5] == "    ├── user: stupid bot  [e-u3]"
        assert "    │   ├── user: stupid bot  [e-u5]  [ended]" in lines
        assert (
            "    │   └── assistant: Let us get back to the essay.  [e-a5]  (after the end)" in lines
        )
        assert (
            lines[-2]
            == "        └── assistant: Of course, please paste it.  [e-a3b]  <- active tip"
        )

    def test_every_conversation_by_default(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --conversation every conversation is drawn; hidden and empty nodes say so."""
        _, out, _ = run(capsys, "tree", EXPORT, "--plain")
        assert "Essay help" in out
        assert "Weekend trip" in out
        assert "├── system: (hidden) (empty)  [sys-1]" in out

    def test_rich_tree(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With rich the same tree is drawn by rich.tree, brackets kept as text."""
        status, out, _ = run(capsys, "tree", EXPORT, "--conversation", ESSAY)
        assert status == 0
        assert "[e-u5]" in out
        assert "[ended]" in out
        assert "active tip" in out

    def test_states_from_a_convguard_record(
        self, capsys: pytest.CaptureFixture[str], guard: cg.Guard, tmp_path: Path
    ) -> None:
        """A convguard export is drawn with its own states: ended where it ended."""
        conv = guard.start(conversation_id="c-1")
        for _ in range(4):
            verdict = conv.send("[abuse] again")
        assert verdict.ended
        path = tmp_path / "records.json"
        cg.formats.dump(conv.export(), path)
        _, out, _ = run(capsys, "tree", str(path), "--plain")
        assert out.splitlines()[-2].endswith("[ended]  <- active tip")

    def test_several_roots(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """A conversation with two roots draws each as a branch."""
        path = tmp_path / "log.jsonl"
        lines = [
            {"conversation_id": "c", "id": "a", "parent_id": None, "role": "user", "content": "A"},
            {"conversation_id": "c", "id": "b", "parent_id": None, "role": "user", "content": "B"},
            {"conversation_id": "c", "id": "b2", "parent_id": "b", "role": "user", "content": ""},
        ]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        _, out, _ = run(capsys, "tree", str(path), "--plain")
        assert out.splitlines()[:4] == [
            "(untitled)  [c]  3 messages",
            "├── user: A  [a]",
            "└── user: B  [b]",
            "    └── user: (empty)  [b2]  <- active tip",
        ]

    def test_unknown_conversation(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An id that is not in the file exits 2 naming it."""
        status, _, err = run(capsys, "tree", EXPORT, "--conversation", "nope")
        assert status == 2
        assert "nope" in err

    def test_skipped_are_listed(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With --errors skip the bad conversations are listed after the trees."""
        _, out, _ = run(
            capsys, "tree", str(FIXTURES / "chatgpt_bad.json"), "--errors", "skip", "--plain"
        )
        assert "skipped: file" in out
        assert "bad-role" in out
