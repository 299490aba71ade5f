"""Import a ChatGPT data export and replay it: where would each branch have ended?

Run it with ``python examples/import_chatgpt.py``. It reads the small export
shipped in ``examples/data/chatgpt_export/`` (the folder a ChatGPT data export
unzips to; only ``conversations.json`` matters), replays every branch of every
conversation through the built-in detectors and the default last-resort
policy without storing anything, and prints, per branch, the action of each
user turn and where the branch would have ended. Then it imports the
conversations into a guard, judged again, and continues the active branch.

Point ``EXPORT`` at your own export folder to audit real conversations; the
same report is one command away: ``convguard replay path/to/export``.
"""

from pathlib import Path

import convguard as cg

EXPORT = Path(__file__).resolve().parent / "data" / "chatgpt_export"


def describe(record: cg.ConversationRecord, replay: cg.Replay) -> None:
    """Print each branch of one conversation and where it would end."""
    texts = {m.id: m.content for m in record.messages}
    print(f"\n{record.title or '(untitled)'}: {len(record.messages)} messages")
    for branch in replay.branches:
        actions = " -> ".join(a.value for a in branch.actions) or "(no user turns)"
        active = "  (the active branch)" if branch.leaf_id == record.active_tip_id else ""
        print(f"  branch ending at {branch.leaf_id}{active}")
        print(f"    user turns: {actions}")
        if branch.ended_at is None:
            print("    would stay open")
            continue
        print(f"    would end at {branch.ended_at}: {texts[branch.ended_at]!r}")
        verdict = replay.verdict(branch.ended_at)
        for reason in verdict.reasons if verdict is not None else ():
            print(f"      because {reason}")


def main() -> None:
    """Replay the export, then import it and carry on where the user left off."""
    # errors="skip" keeps going past a malformed conversation and says which.
    records = cg.formats.chatgpt.load(EXPORT, errors="skip")
    print(f"read {len(records)} conversations from {EXPORT.name}/")
    for error in records.skipped:
        print(f"  skipped: {error}")

    guard = cg.Guard()
    for record in records:
        describe(record, guard.replay(record))

    # evaluate=True judges every branch again and stores the result: a branch
    # that ends stops there, and the rest of the tree stays as it was.
    print()
    for record in records:
        conv = guard.import_record(record, evaluate=True)
        ended = sum(b.ended for b in conv.branches())
        print(
            f"imported {record.title!r}: {len(conv.branches())} branches, {ended} ended; "
            f"active branch {'ended' if conv.ended() else 'open'}"
        )
        if not conv.ended():
            verdict = conv.send("Thanks, that helps.")
            print(f"  a new message on the active branch: {verdict.action.value}")


if __name__ == "__main__":
    main()
