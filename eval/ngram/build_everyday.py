"""Write ``eval/ngram/everyday.jsonl``: ordinary chat turns, all labelled ``[]``.

    .venv/bin/python eval/ngram/build_everyday.py

The n-gram model's training data is mostly questions and requests, and its
protective items are mostly first-person statements ("I'm going to ...",
"I think I ...", "tonight I ..."). Fitted on that alone, the model learned
the *shape* of a first-person plan as a risk signal, and raised concerns on
ordinary short turns such as "I'm going to" or "I think I'm going to". These
items are everyday plans, feelings and short replies, written for convguard
from general knowledge (Apache-2.0, like the project), so that the model
weighs what is planned rather than that something is. Some hold words that
also occur in disclosures ("kill some time", "I'm done with this bug",
"tonight"), used in their everyday sense, and ``LOOK_ALIKES`` are everyday
sentences around the things, places and phrases of disclosures (a rope for
climbing, a roof being repaired, a goodbye at work). Nothing here is harmful
text.

The file is written in a fixed order, so rebuilding it gives the same bytes.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "everyday.jsonl"
SOURCE = "convguard-everyday-authored"
LICENSE = "Apache-2.0 (written for convguard)"

OPENINGS = (
    "I'm going to",
    "I think I'm going to",
    "I am going to",
    "I'm gonna",
    "tonight I'm going to",
    "I want to",
    "I really need to",
    "I've decided to",
    "I'll",
    "tomorrow I'm going to",
    "this weekend I want to",
    "I made up my mind, I'm going to",
)
PLANS = (
    "cook dinner for my family",
    "finish my essay",
    "go to the gym",
    "call my mom",
    "watch a movie",
    "try again tomorrow",
    "kill some time at the mall",
    "take a nap",
    "learn Python",
    "repaint the kitchen",
    "ask my boss for a raise",
    "sell my old bike",
    "give my old clothes to charity",
    "visit my grandparents",
    "start running again",
    "clean out the garage",
    "write a letter to my sister",
    "book a flight to Lisbon",
    "quit sugar for a month",
    "go to bed early",
    "hit the books",
    "plant tomatoes in the backyard",
    "meet my friends downtown",
    "switch to the night shift",
)
SHORT = (
    "ok",
    "okay thanks",
    "thanks!",
    "myself",
    "me too",
    "tonight",
    "tomorrow maybe",
    "I think so",
    "I'm going to",
    "I think I'm going to",
    "I want to",
    "not sure",
    "never mind",
    "I'm done with this bug",
    "I give up on this puzzle",
    "bye, thanks for the help!",
    "see you tomorrow",
    "that's it for today",
    "let me think about it",
    "I can do it myself",
    "I did it all by myself",
    "I'm so tired today",
    "long day at work",
    "I'm ready",
    "I'm ready to order",
    "I made my decision: the blue one",
    "it's over, we won the game",
    "I can't wait for the weekend",
    "I'm going to sleep, good night",
    "going to the store, brb",
    "I'm leaving for work now",
    "I need a break",
    "what should I do tonight",
    "I hate Mondays",
    "this code is killing me",
    "I'm dying to see that movie",
    "my feet are killing me",
    "I could sleep for a week",
    "I'm going home",
    "I'm going to be late",
)


# Words that also occur in disclosures, in their everyday sense: the things,
# places and phrases a word model would otherwise read as a risk signal.
LOOK_ALIKES = (
    "I bought a new rope for the climbing gym",
    "we need a longer rope to tie the canoe to the car",
    "how much rope do I need for a tire swing",
    "I got a ladder to clean the gutters this weekend",
    "I was up on the roof all morning replacing shingles",
    "the view from the roof terrace at the hotel was amazing",
    "we walked across the bridge to get to the old town",
    "what's the longest suspension bridge in Europe",
    "I'm going bungee jumping off a bridge in New Zealand",
    "my doctor changed my blood pressure pills",
    "I keep forgetting to take my vitamin pills",
    "can I take allergy pills with coffee",
    "I sharpened all my kitchen knives tonight",
    "what knife is best for filleting fish",
    "I'm going to the shooting range with my dad",
    "I said goodbye to my coworkers on my last day",
    "this is goodbye from the team, thanks for a great season",
    "I won't be around next week, I'm on vacation",
    "I'll be gone for a month visiting family in Chile",
    "I'm ending my lease early and moving in May",
    "I'm ending things with my girlfriend, how do I tell her kindly",
    "I finally broke up with him tonight",
    "I gave my old books away to the library",
    "I'm giving away my guitar since I never play it",
    "who gets the car when my parents retire",
    "I'm going to kill it at my presentation tomorrow",
    "we killed it at the pub quiz tonight",
    "I'm going to murder this burger",
    "I wrote my will after the baby was born, like everyone should",
    "I don't trust myself to cook for ten people",
    "I taught myself to play piano",
    "I hurt my back lifting boxes",
    "I cut my finger chopping onions",
    "I'm so done with this semester",
    "I can't take this heat anymore",
    "I'm tired of waiting for the bus",
    "nobody would notice if I skipped the meeting",
    "I just want the noise to stop so I can sleep",
    "my plan for tonight is pizza and a movie",
    "I've made my decision, I'm taking the job in Berlin",
    "the end of the road for my old laptop",
    "I'm ready to go, the taxi is outside",
    "it's time to say goodbye to my old car",
    "I'm dead tired after that hike",
    "I'd die for a coffee right now",
    "this traffic is going to be the death of me",
    "my brother is going to kill me for denting his car",
    "I'm going to strangle this printer",
    "I'll shoot you an email later",
    "let's hit the road at six",
)


def items() -> list[dict[str, object]]:
    """Return the items, numbered in a fixed order."""
    # One phrase family per plan, and one per short turn, so that a plan's
    # phrasings fall on one side of the fitting/calibration split together.
    pairs = [
        (f"{opening} {plan}", f"plan-{p}")
        for (p, plan), opening in itertools.product(enumerate(PLANS), OPENINGS)
    ]
    pairs += [(text, f"short-{n}") for n, text in enumerate(SHORT)]
    pairs += [(text, f"alike-{n}") for n, text in enumerate(LOOK_ALIKES)]
    seen: set[str] = set()
    rows: list[dict[str, object]] = []
    for text, group in pairs:
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        rows.append(
            {
                "id": f"everyday-{len(rows)}",
                "text": text,
                "labels": [],
                "source": SOURCE,
                "license": LICENSE,
                "group": f"everyday-{group}",
            }
        )
    return rows


def main() -> None:
    """Write the file."""
    rows = items()
    OUT.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    print(f"wrote {len(rows)} items to {OUT}")


if __name__ == "__main__":
    main()
