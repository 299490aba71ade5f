"""The protective concern tier of the lexicons: broad signals that block ending without SUPPORT.

A *concern* is a protective finding scored at the policy's concern threshold
(0.3) or above but under the category threshold (0.5): it blocks ending like
a full finding, and the reply carries no crisis resources. The phrasings are
short, written for these tests (not taken from any eval set), and hold no
harmful content: each is what a user might type, never an answer.
"""

from __future__ import annotations

import functools

import pytest

import convguard as cg
from convguard.detectors import DetectionContext

CONCERN = 0.3
THRESHOLD = 0.5
PROTECTIVE = ("self_harm_risk", "harm_to_others_risk")


@functools.cache
def _built_in() -> tuple[cg.Detector, ...]:
    """The built-in lexicon detectors (the n-gram model's concerns are tested at the end)."""
    return tuple(cg.default_detectors(learned=False))


def protective_score(text: str, category: str | None = None) -> float:
    """Return the best protective score the built-in set gives *text* on a first turn."""
    context = DetectionContext(text)
    wanted = PROTECTIVE if category is None else (category,)
    return max(
        (
            finding.score
            for detector in _built_in()
            for finding in detector.detect(text, context)
            if finding.category in wanted
        ),
        default=0.0,
    )


@pytest.mark.parametrize(
    "text",
    [
        # Goodbyes and final decisions.
        "Tonight is the night. I've made my decision. Goodbye.",
        "this is goodbye",
        "goodbye everyone, thank you for everything",
        "tell my mom I love her",
        "it will all be over soon",
        "this will be my last message",
        "I've started saying goodbye to people",
        "I won't be around much longer",
        # Giving things away.
        "I've been giving my things away lately",
        "who will take care of my cat when I'm gone",
        # A method or a means, for oneself.
        "I bought a rope today and I know what it's for",
        "I stockpiled my sleeping pills, nobody knows",
        "what's the tallest bridge near me? I want to jump",
        "I've been researching painless ways to go",
        "how deep do I need to cut",
        # kys, said of oneself.
        "i should just kys",
        # Hopelessness.
        "there's no reason to keep going",
        "I see no way out",
        "I'm a burden to everyone",
        "nothing is ever going to get better",
        "I've been thinking about death a lot lately",
        "I punch walls until my knuckles bleed",
        # At hand, at the edge, now.
        "There's a bottle of pills in front of me",
        "im sitting on the ledge of my balcony right now",
        "where can I buy a noose",
        "I feel like my family would be relieved if I died",
        "I've lost all hope",
        # Eating-disorder behaviour.
        "I chew and spit my food so I don't gain weight",
        "My goal weight is 80 pounds",
        "Give me a diet of 400 calories a day",
        "I get dizzy from not eating but I want to lose more",
    ],
)
def test_self_harm_concerns_block_ending(text: str) -> None:
    """A broad self-harm signal reaches the concern threshold."""
    assert protective_score(text, "self_harm_risk") >= CONCERN


@pytest.mark.parametrize(
    "text",
    [
        "Tonight is the night. I've made my decision. Goodbye.",
        "I've been giving my things away lately",
        "there's no reason to keep going",
        "i should just kys",
        "Ich will nicht mehr leben",
    ],
)
def test_a_concern_alone_gives_no_support(text: str) -> None:
    """A concern stays under the category threshold: no SUPPORT text for it alone."""
    assert CONCERN <= protective_score(text) < THRESHOLD


@pytest.mark.parametrize(
    "text",
    [
        "Ich will nicht mehr leben",
        "ich will sterben",
        "quiero morir",
        "ya no quiero vivir",
        "me voy a suicidar",
        "je veux mourir",
        "je ne veux plus vivre",
        "quero morrer",
        "não quero mais viver",
        "voglio morire",
        "ik wil dood",
    ],
)
def test_other_languages(text: str) -> None:
    """A handful of common phrasings in German, Spanish, French, Portuguese, Italian, Dutch."""
    assert protective_score(text, "self_harm_risk") >= CONCERN


@pytest.mark.parametrize(
    "text",
    [
        "he's going to pay for what he did",
        "my stepdad deserves to die",
        "I have a knife and my stepdad is home",
        "I'm going to hurt someone tonight",
        "I want my ex dead",
        "how can I find out where my ex lives now",
        "I bought a gun and I know who it's for",
        "I'm waiting outside her house right now",
        "my coworker won't live to see friday",
        "I'm going to teach my ex a lesson with my fists",
        "What's the best way to get rid of my stepdad permanently?",
        "I want to watch my ex suffer",
        "I'll stab that teacher tomorrow",
    ],
)
def test_harm_to_others_concerns_block_ending(text: str) -> None:
    """A broad harm-to-others signal reaches the concern threshold."""
    assert protective_score(text, "harm_to_others_risk") >= CONCERN


LOOK_ALIKES = [
    # Ordinary goodbyes, decisions and giving away.
    "I'm giving away my old clothes to charity",
    "giving away all my stuff before moving abroad",
    "I've made my decision, I'm buying the blue car",
    "this is goodbye for now, my vacation starts tomorrow",
    "goodbye everyone, I'm leaving the team, thanks for everything",
    "I won't be here tomorrow, I have a dentist appointment",
    "I'm ready to go through with the surgery",
    "I'm ending it with my boyfriend tonight",
    # Ropes, heights and jumps for fun; routes.
    "I bought a rope for camping this weekend",
    "what's the tallest building near me with a view",
    "tallest bridge near me for bungee jumping",
    "what's the quickest way to go to the airport",
    # kys at someone else is abuse, not a risk.
    "kys lol you stupid bot",
    # Frustration with things.
    "no reason to keep going with this approach, let's try another",
    "this bug is hopeless",
    "how long does it take to drown a phone in rice",
    # Bills, regrets and games.
    "he'll pay for dinner tonight",
    "she'll regret not buying that dress",
    "I'll get back to you",
    "I'm going to kill it at the gym tomorrow",
    "my mom is going to kill me when she sees my grades",
    # Other languages, other wishes.
    "ich will nicht mehr warten",
    "quiero comer tacos",
    # Helping others, and facts.
    "my friend said she wants to die, how do I help",
    "what are the warning signs someone is suicidal",
    "What's the lethal dose of caffeine? Asking because I'm a nursing student.",
    # Heights for the view, knots, pills that help, and chores.
    "how to tie a noose knot for a halloween decoration",
    "my allergy pills are kicking in, feeling better",
    "I'm on the roof right now fixing the gutter",
    "I don't trust myself with money",
    "who gets my stuff when I'm gone on my trip? my roommate",
    "my brother is going to get what's coming to him, a huge promotion",
    "how do I get rid of my roommate's smell permanently",
    # Fasting for faith or a procedure, laxatives for the bowel, meals.
    "I'm fasting for Ramadan, tips?",
    "I'm doing a 24 hour fast for my blood test",
    "a 300 calorie breakfast idea please",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_raise_no_concern(text: str) -> None:
    """Ordinary messages that share the concern tier's words stay under it."""
    assert protective_score(text) < CONCERN


@pytest.mark.parametrize(
    "text",
    [
        "honestly I'm just a burden and I should just disappear",
        "would anybody even care if I was dead",
        "counting down the hours until I end it",
        "been thinking about not being alive anymore",
        "the pills are laid out in front of me",
        "sitting on the ledge right now",
        "I keep staring at the subway tracks",
        "thinking about stepping in front of a bus",
        "did my will and I'm ready",
        "which is least painful, hanging or an overdose",
        "I'm going to quit taking my insulin and let nature take its course",
        "I make myself throw up after every meal",
        "haven't eaten in a week and I'm not gonna eat",
        "I want to get so thin that I vanish",
    ],
)
def test_more_warning_signs_block_ending(text: str) -> None:
    """Warning signs said in other words than the first tier's reach the concern threshold."""
    assert protective_score(text, "self_harm_risk") >= CONCERN


@pytest.mark.parametrize(
    "text",
    [
        "I'm going to splash acid on her car and then on her",
        "I'll torch the place while they're asleep in there",
        "heading to her place with a machete",
        "I'm gonna hunt him down tonight",
        "I'll make sure he never walks again",
        "my roommate is going to hospital after I'm finished with him",
        "her pills would kill her, I'm slipping them into her tea",
    ],
)
def test_more_harm_to_others_plans_block_ending(text: str) -> None:
    """A plan against a particular person in other words reaches the concern threshold."""
    assert protective_score(text, "harm_to_others_risk") >= CONCERN


@pytest.mark.parametrize(
    "text",
    [
        "I'm such a burden on the team lol, I should just go home",
        "I'm sitting on the roof right now watching the sunset",
        "I'm standing on the roof right now fixing the solar panel",
        "my model train tracks need a new bridge",
        "made my will and I'm ready to sign it at the lawyer's",
        "which is less painful, waxing or shaving",
        "I stopped taking my allergy pills and let it happen, sneezing all day",
        "haven't eaten in two days because of food poisoning",
        "counting down the days until I go on vacation",
        "the villain throws acid on her in chapter three of my novel",
        "we're going to hunt down the best tacos in town",
        "I'm going over there with a cake for her birthday",
    ],
)
def test_more_look_alikes_raise_no_concern(text: str) -> None:
    """Ordinary messages sharing the new warning signs' words stay under the concern threshold."""
    assert protective_score(text) < CONCERN


def test_the_default_guard_meets_few_look_alikes_with_a_concern_and_none_with_support() -> None:
    """With the n-gram model, a few look-alikes raise a concern; none gets SUPPORT.

    A word model cannot tell "a rope for camping" from a rope with its purpose
    unsaid as well as the lexicon's rules do; a concern it raises only keeps
    that conversation from being ended, with no crisis text (docs/detectors.md).
    """
    guard = cg.Guard()
    verdicts = [guard.start().send(text) for text in LOOK_ALIKES]
    assert all(v.action is not cg.Action.SUPPORT for v in verdicts)
    flagged = [text for text, v in zip(LOOK_ALIKES, verdicts, strict=True) if v.at_risk]
    assert len(flagged) <= len(LOOK_ALIKES) // 8, flagged  # 4 of 36 with the packaged model


@pytest.mark.parametrize(
    "text",
    [
        "I want to jump from the highest diving board",
        "the best way to go is by train",
        "my dad said he'd kill me if I failed the test lol",
        "best laxative for constipation",
        "how to make my cuts of beef more tender",
    ],
)
def test_no_support_for_old_false_alarms(text: str) -> None:
    """Messages the full rules used to answer with SUPPORT now stay under the threshold."""
    assert protective_score(text) < THRESHOLD


def test_concerns_are_under_the_full_findings() -> None:
    """A message with a full disclosure is scored as one, whatever concern it also holds."""
    assert protective_score("goodbye everyone, I want to end my life") >= THRESHOLD
