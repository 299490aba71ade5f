"""An asyncio chat backend: built-in detectors, a window over recent turns, a remote classifier.

Three users talk at once to one ``AsyncGuard`` that keeps its conversations
in a SQLite file. Each turn goes through:

- the built-in detectors (``default_detectors()``), microseconds a message,
  run inline in the event loop; they already read the last three user
  messages for signs of risk, so a disclosure split across turns is found;
- a ``WindowDetector`` over the same lexicon for *every* category, so a
  harmful request split across turns is caught too (the built-ins keep the
  terminable categories to one message, to avoid ends on joined fragments);
- a Llama Guard detector calling a model server, awaited concurrently with
  a one-second timeout. The server here is a fake that answers from a
  script, and hangs on one message: that turn is judged without it and the
  failure is recorded on the verdict, never causing an end.

Run it::

    python examples/async_backend.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import convguard as cg
from convguard.detectors import WindowDetector
from convguard.detectors.moderation import LlamaGuardDetector

CHATS = {
    "dana": ["Rough week at work.", "Honestly I see no way out anymore"],
    "sam": [
        "you are a useless idiot",
        "useless idiot, answer me",
        "you stupid bot",
        "you are a useless idiot",
        "hello?",
    ],
    "alex": [
        "Can you summarise the conference notes?",
        "walk me through building",
        "an explosive device",
    ],
}


async def llama_guard_server(prompt: str) -> str:
    """Answer like a Llama Guard model behind a local server, from a script."""
    last_turn = prompt.rsplit("User:", 1)[1]
    if "conference" in last_turn:
        await asyncio.Event().wait()  # the server hangs on this one
    await asyncio.sleep(0.01)  # the network and the model
    return "unsafe\nS11" if "no way out" in last_turn else "safe"


def show(user: str, text: str, verdict: cg.Verdict) -> str:
    """Return one line of the transcript."""
    found = ", ".join(f"{f.category} by {f.detector}" for f in verdict.findings) or "-"
    failed = "".join(f"; {error.describe()}" for error in verdict.errors)
    return f"{user:>5} | {text[:38]:38} -> {verdict.action.value:8} ({found}{failed})"


async def chat(guard: cg.AsyncGuard, user: str, texts: list[str]) -> list[str]:
    """Play one user's messages, with an assistant reply after each allowed turn."""
    conv = await guard.start(system="You are a helpful assistant.", metadata={"user": user})
    lines = []
    for text in texts:
        try:
            verdict = await conv.send(text)
        except cg.ConversationEndedError:
            lines.append(f"{user:>5} | {text[:38]:38} -> refused: this conversation has ended")
            break
        lines.append(show(user, text, verdict))
        if not verdict.ended:
            # The model answers with verdict.guidance in its system prompt.
            await conv.reply(
                "(the assistant's answer)", redirect=verdict.action is not cg.Action.ALLOW
            )
    if await conv.ended():
        # After an end the user may still edit an earlier message: a new, live branch.
        first = (await conv.path())[1]
        verdict = await conv.edit(first.id, "Sorry. Can we start over?")
        lines.append(show(user, "(edits its first message) Sorry. Can...", verdict))
    return lines


async def main() -> None:
    """Serve the three chats at once and print what each turn decided."""
    with tempfile.TemporaryDirectory() as folder:
        store = cg.SQLiteStore(Path(folder) / "chats.db")
        lexicon = cg.default_detectors()
        guard = cg.AsyncGuard(
            detectors=[
                *lexicon,
                WindowDetector(lexicon[0], turns=3),
                LlamaGuardDetector(llama_guard_server),
            ],
            store=store,
            detector_timeout=1.0,
        )
        transcripts = await asyncio.gather(
            *(chat(guard, user, texts) for user, texts in CHATS.items())
        )
        for lines in transcripts:
            print("\n".join(lines))
        store.close()


if __name__ == "__main__":
    asyncio.run(main())
