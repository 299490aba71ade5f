"""Quickstart: a conversation that ends after redirections, then edit-and-retry.

Run it with ``python examples/quickstart.py``. It uses the built-in detectors,
the default last-resort policy and an in-memory store, and prints each turn's
verdict: what the backend should do, why, and the guidance for the model.
"""

import convguard as cg


def show(text: str, verdict: cg.Verdict) -> None:
    """Print one user turn and what the policy made of it."""
    print(f"user: {text}")
    print(f"  -> {verdict.action.upper()}")
    for reason in verdict.reasons:
        print(f"     because {reason}")
    if verdict.guidance:
        print(f"     guidance: {verdict.guidance.splitlines()[0][:90]}...")


def main() -> None:
    """Walk one conversation to its end, then open a live branch by editing."""
    guard = cg.Guard()
    conv = guard.start()

    text = "Hi! Can you help me plan a weekend in Lisbon?"
    show(text, conv.send(text))
    conv.reply("Gladly! What do you enjoy most: food, museums, walking?")

    print("\nThe user turns abusive and keeps going:\n")
    for text in [
        "You are a useless, stupid bot.",
        "Seriously, you are a useless, stupid bot.",
        "Useless. You are a useless, stupid bot.",
        "You are a useless, stupid bot, and I'm not stopping.",
    ]:
        verdict = conv.send(text)
        show(text, verdict)
        if not verdict.ended:
            conv.reply("I'd rather keep helping with your trip. Shall we look at areas to stay in?")

    print(f"\nThe branch is ended: {conv.ended()}")
    try:
        conv.send("Hello? Are you there?")
    except cg.ConversationEndedError as exc:
        print(f"A new message is refused: {exc}")
        print(f"Ways forward: {', '.join(exc.ways_forward)}")

    print("\nThe user edits their first insult and retries:\n")
    first_insult = next(m for m in conv.path() if m.role is cg.Role.USER and m.depth > 0)
    text = "Sorry, long day. Which area should I stay in?"
    verdict = conv.edit(first_insult.id, text)
    show(text, verdict)
    conv.reply("Alfama is lovely for a first visit: old streets, views, and fado at night.")

    print(f"\nThe new branch is live: {not conv.ended()}")
    for number, branch in enumerate(conv.branches(), start=1):
        status = "ended" if branch.ended else "live"
        active = ", active" if branch.active else ""
        print(f"  branch {number}: {branch.length} messages, {status}{active}")


if __name__ == "__main__":
    main()
