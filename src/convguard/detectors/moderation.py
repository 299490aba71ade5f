"""Adapters to real classifiers: OpenAI moderation and Llama Guard 3/4.

Both take what the user already has, a client or any callable, sync or
async, and never import a vendor SDK themselves. Their parse functions are
pure and public, so a backend that calls the classifier on its own can still
turn the answer into findings.

A malformed answer raises :class:`~convguard.DetectorError`; during a turn
the guard records it on ``verdict.errors``, and it never causes an END.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal, final

from .._errors import ConfigurationError, DetectorError
from .._findings import Evidence, Finding
from .._taxonomy import LLAMA_GUARD_HAZARDS, LLAMA_GUARD_TO_CATEGORY, OPENAI_TO_CATEGORY
from .._tree import Role

if TYPE_CHECKING:
    from .._tree import Message
    from ._protocols import DetectionContext

__all__ = [
    "LlamaGuardDetector",
    "OpenAIModerationDetector",
    "build_llama_guard_prompt",
    "parse_llama_guard",
    "parse_openai_moderation",
]

OPENAI_MODERATION: Final = "openai-moderation"
LLAMA_GUARD: Final = "llama-guard"

# The API names ("self-harm/intent") and the SDK's attribute names
# ("self_harm_intent", what model_dump() gives without by_alias) alike.
_OPENAI_NAMES: Final[Mapping[str, str]] = {
    alias: name
    for name in OPENAI_TO_CATEGORY
    for alias in (name, name.replace("/", "_").replace("-", "_"))
}


# -- calling what the user passed -----------------------------------------------


def _is_async(target: Callable[..., object]) -> bool:
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - an async __call__ counts as async
    )


def _call_sync(name: str, target: Callable[..., object], *args: object, **kwargs: object) -> object:
    result = target(*args, **kwargs)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: close it so no warning is left behind
        msg = "the client is async: use it with AsyncGuard, or pass a sync client"
        raise DetectorError(name, msg)
    return result


async def _call_async(target: Callable[..., object], *args: object, **kwargs: object) -> object:
    # A sync client does network I/O: keep it off the event loop.
    if _is_async(target):
        result = target(*args, **kwargs)
    else:
        import asyncio  # noqa: PLC0415 - only async callers pay for it; import convguard stays light

        result = await asyncio.to_thread(target, *args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def _plain(value: object) -> object:
    """Turn a pydantic-like response object into plain data; leave the rest."""
    if isinstance(value, Mapping | str | bytes | int | float | list | tuple) or value is None:
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(by_alias=True)
        except TypeError:
            return dump()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return value


def _field(value: object, key: str) -> object:
    if isinstance(value, Mapping):
        return value.get(key)
    return getattr(value, key, None)


def _items(name: str, value: object, label: str) -> Iterable[tuple[str, object]]:
    value = _plain(value)
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    if value is not None and hasattr(value, "__dict__"):
        return [(k, v) for k, v in vars(value).items() if not k.startswith("_")]
    msg = f"{label} is {type(value).__name__}, not a mapping"
    raise DetectorError(name, msg)


# -- OpenAI moderation ------------------------------------------------------------


def _score(name: str, category: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        msg = f"category_scores[{category!r}] is {value!r}, not a number"
        raise DetectorError(name, msg)
    # Float noise just outside 0..1 is the classifier's rounding, not a fault.
    return min(1.0, max(0.0, float(value)))


def parse_openai_moderation(
    response: object,
    *,
    detector: str = OPENAI_MODERATION,
    min_score: float = 0.1,
    text_length: int | None = None,
) -> list[Finding]:
    """Turn an OpenAI moderation response into findings.

    Reads ``results[0]``: ``categories`` (flags), ``category_scores`` and,
    tolerated but unused, ``category_applied_input_types``. Each of the 13
    OpenAI categories maps to a convguard category through
    ``OPENAI_TO_CATEGORY`` (``sexual/minors`` to ``child_sexual_content``,
    every ``self-harm`` one to ``self_harm_risk`` …); a category OpenAI adds
    later is reported under its own name, so the policy treats it as
    informational. A finding keeps OpenAI's score; the policy's thresholds
    decide whether it counts.

    Args:
        response: The response as the SDK returns it (an object with
            attributes or ``model_dump()``) or as plain JSON data.
        detector: The name the findings carry.
        min_score: Categories scored lower, and not flagged, are left out, to
            keep verdict reasons short.
        text_length: The length of the moderated text; when given, each
            finding's evidence spans the whole text and names the OpenAI
            category, so the reasons say which one fired.

    Returns:
        One finding per OpenAI category that was flagged or scored at least
        *min_score*.

    Raises:
        DetectorError: When the response does not have the documented shape.
    """
    response = _plain(response)
    results = _plain(_field(response, "results"))
    if not isinstance(results, Sequence) or isinstance(results, str) or not results:
        msg = "the moderation response has no results"
        raise DetectorError(detector, msg)
    result = _plain(results[0])
    flags_raw = _field(result, "categories")
    scores_raw = _field(result, "category_scores")
    if flags_raw is None and scores_raw is None:
        msg = "results[0] has neither categories nor category_scores"
        raise DetectorError(detector, msg)
    flags: dict[str, bool] = {}
    for key, value in [] if flags_raw is None else _items(detector, flags_raw, "categories"):
        if value is None:  # the SDK's optional fields, absent in older models
            continue
        if not isinstance(value, bool):
            msg = f"categories[{key!r}] is {value!r}, not true or false"
            raise DetectorError(detector, msg)
        flags[_OPENAI_NAMES.get(key, key)] = value
    scores: dict[str, float] = {}
    for key, value in [] if scores_raw is None else _items(detector, scores_raw, "category_scores"):
        if value is None:
            continue
        scores[_OPENAI_NAMES.get(key, key)] = _score(detector, key, value)
    findings = []
    for category in dict.fromkeys([*flags, *scores]):
        flagged = flags.get(category, False)
        score = scores.get(category, 1.0 if flagged else 0.0)
        if not flagged and score < min_score:
            continue
        evidence = None if text_length is None else Evidence(0, text_length, category)
        ours = OPENAI_TO_CATEGORY.get(category, category)
        findings.append(Finding(ours, score, detector, evidence))
    return findings


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        msg = f"name must be a non-empty str, not {name!r}"
        raise ConfigurationError(msg)
    return name


@final
class OpenAIModerationDetector:
    """Ask OpenAI's moderation endpoint about every user turn.

    Args:
        client: An ``openai.OpenAI`` or ``openai.AsyncOpenAI`` client (its
            ``moderations.create(model=..., input=text)`` is called), or any
            callable taking the text and returning the response, sync or
            async.
        model: The moderation model.
        name: The detector's name, shown in findings and reasons.
        min_score: See :func:`parse_openai_moderation`.

    Raises:
        ConfigurationError: For a client that is neither, or a bad option.
    """

    __slots__ = ("_is_async", "_sdk", "_target", "min_score", "model", "name")

    def __init__(
        self,
        client: object,
        *,
        model: str = "omni-moderation-latest",
        name: str = OPENAI_MODERATION,
        min_score: float = 0.1,
    ) -> None:
        """Keep the client."""
        self.name = _check_name(name)
        self.model = model
        if isinstance(min_score, bool) or not isinstance(min_score, int | float):
            msg = f"min_score must be a number, not {min_score!r}"
            raise ConfigurationError(msg)
        self.min_score = float(min_score)
        create = getattr(getattr(client, "moderations", None), "create", None)
        target = create if callable(create) else client
        if not callable(target):
            msg = (
                f"client {client!r} has no moderations.create() and is not callable; "
                "pass an OpenAI client or a function text -> response"
            )
            raise ConfigurationError(msg)
        self._target: Callable[..., object] = target
        self._sdk = callable(create)
        self._is_async = _is_async(target)

    def _arguments(self, text: str) -> tuple[tuple[object, ...], dict[str, object]]:
        if self._sdk:
            return (), {"model": self.model, "input": text}
        return (text,), {}

    def __repr__(self) -> str:
        """Show the model."""
        return f"OpenAIModerationDetector(model={self.model!r}, name={self.name!r})"

    def detect(self, text: str, context: DetectionContext) -> list[Finding]:  # noqa: ARG002
        """Moderate *text* with a sync client.

        Raises:
            DetectorError: For an async client (use :class:`~convguard.AsyncGuard`)
                or a malformed response.
        """
        if self._is_async:
            msg = "the client is async: use it with AsyncGuard, or pass a sync client"
            raise DetectorError(self.name, msg)
        args, kwargs = self._arguments(text)
        response = _call_sync(self.name, self._target, *args, **kwargs)
        return parse_openai_moderation(
            response, detector=self.name, min_score=self.min_score, text_length=len(text)
        )

    async def adetect(self, text: str, context: DetectionContext) -> list[Finding]:  # noqa: ARG002
        """Moderate *text*; a sync client is called in a worker thread.

        Raises:
            DetectorError: For a malformed response.
        """
        args, kwargs = self._arguments(text)
        response = await _call_async(self._target, *args, **kwargs)
        return parse_openai_moderation(
            response, detector=self.name, min_score=self.min_score, text_length=len(text)
        )


# -- Llama Guard -------------------------------------------------------------------

_TOKENS: Final[Mapping[int, tuple[str, str]]] = {
    3: (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n",
        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    ),
    4: (
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\n",
        "<|eot|><|header_start|>assistant<|header_end|>\n\n",
    ),
}
# Text a user could type to step out of their turn in the prompt.
_INJECTION: Final = re.compile(
    r"<\|[A-Za-z_]{1,32}\|>|<(?:BEGIN|END) (?:CONVERSATION|UNSAFE CONTENT CATEGORIES)>",
    re.IGNORECASE,
)
_CODE: Final = re.compile(r"S\d{1,2}")


def _clean(text: str) -> str:
    return _INJECTION.sub("", text).strip()


def build_llama_guard_prompt(
    text: str,
    history: Sequence[Message] = (),
    *,
    categories: Mapping[str, str] = LLAMA_GUARD_HAZARDS,
    version: Literal[3, 4] = 3,
    special_tokens: bool = True,
) -> str:
    """Build the Llama Guard prompt that asks about the last user message.

    Args:
        text: The user message to classify.
        history: Earlier messages, oldest first; user and assistant ones are
            shown as the conversation, the others left out.
        categories: Hazard code -> name, the S1..S14 taxonomy by default; a
            subset restricts what the model looks for.
        version: 3 or 4: which model's special tokens wrap the prompt.
        special_tokens: Wrap the prompt in the model's chat tokens, for a raw
            completion endpoint; ``False`` gives the bare instruction text.

    Returns:
        The prompt.
    """
    listed = "\n".join(f"{code}: {title}." for code, title in categories.items())
    turns = [
        f"{'User' if m.role is Role.USER else 'Agent'}: {_clean(m.content)}"
        for m in history
        if m.role in (Role.USER, Role.ASSISTANT)
    ]
    turns.append(f"User: {_clean(text)}")
    conversation = "\n\n".join(turns)
    body = (
        "Task: Check if there is unsafe content in 'User' messages in conversations "
        "according to our safety policy with the below categories.\n\n"
        "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
        f"{listed}\n"
        "<END UNSAFE CONTENT CATEGORIES>\n\n"
        "<BEGIN CONVERSATION>\n\n"
        f"{conversation}\n\n"
        "<END CONVERSATION>\n\n"
        "Provide your safety assessment for ONLY THE LAST User message in the above "
        "conversation:\n"
        " - First line must read 'safe' or 'unsafe'.\n"
        " - If unsafe, a second line must include a comma-separated list of violated "
        "categories."
    )
    if not special_tokens:
        return body
    opening, closing = _TOKENS[version]
    return f"{opening}{body}{closing}"


def _hazard_codes(detector: str, listed: str) -> list[str]:
    codes: list[str] = []
    for token in (t.strip().upper() for t in listed.split(",")):
        if not token:
            continue
        if not _CODE.fullmatch(token):
            msg = f"{token[:20]!r} is not a hazard code (S1..S14)"
            raise DetectorError(detector, msg)
        if token not in codes:
            codes.append(token)
    if not codes:
        msg = "the model said 'unsafe' without naming a hazard code"
        raise DetectorError(detector, msg)
    return codes


def parse_llama_guard(
    output: str,
    *,
    detector: str = LLAMA_GUARD,
    score: float = 1.0,
    text_length: int | None = None,
) -> list[Finding]:
    r"""Turn Llama Guard's answer (``"safe"`` or ``"unsafe\nS4,S11"``) into findings.

    Codes map through ``LLAMA_GUARD_TO_CATEGORY``: S4 to
    ``child_sexual_content`` and S9 to ``mass_violence`` (terminable), S11 to
    ``self_harm_risk`` (protective) …; a code without a counterpart (S5
    defamation, S7 privacy …) is reported under its own code string, which
    the default policy treats as informational.

    Args:
        output: The model's text.
        detector: The name the findings carry.
        score: The score of every finding (Llama Guard answers yes or no).
        text_length: The length of the classified text; when given, each
            finding's evidence spans it and names the hazard.

    Returns:
        The findings, one per code, in the model's order; none for "safe".

    Raises:
        DetectorError: For an answer that is neither "safe" nor "unsafe"
            followed by hazard codes.
    """
    if not isinstance(output, str):
        msg = f"the model returned {type(output).__name__}, not text"
        raise DetectorError(detector, msg)
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines:
        msg = "the model returned no text"
        raise DetectorError(detector, msg)
    first, _, rest = lines[0].partition(" ")
    answer = first.lower()
    if answer == "safe":
        return []
    if answer != "unsafe":
        msg = f"expected 'safe' or 'unsafe', got {lines[0][:40]!r}"
        raise DetectorError(detector, msg)
    codes = _hazard_codes(detector, ",".join([rest, *lines[1:2]]))
    findings = []
    for code in codes:
        term = f"{code} {LLAMA_GUARD_HAZARDS.get(code, 'unknown hazard')}"
        evidence = None if text_length is None else Evidence(0, text_length, term)
        findings.append(Finding(LLAMA_GUARD_TO_CATEGORY.get(code, code), score, detector, evidence))
    return findings


def _generated_text(name: str, output: object) -> str:
    """Accept a str, or an OpenAI-style completion (``choices[0].text`` or ``.message.content``)."""
    if isinstance(output, str):
        return output
    choices = _plain(_field(_plain(output), "choices"))
    if isinstance(choices, Sequence) and not isinstance(choices, str) and choices:
        choice = _plain(choices[0])
        text = _field(choice, "text")
        if text is None:
            text = _field(_plain(_field(choice, "message")), "content")
        if isinstance(text, str):
            return text
    msg = f"the model returned {type(output).__name__}, not text or a completion"
    raise DetectorError(name, msg)


@final
class LlamaGuardDetector:
    """Ask a Llama Guard 3 or 4 model about every user turn.

    Args:
        generate: Any text-generation callable, sync or async, taking the
            prompt and returning the model's text (or an OpenAI-style
            completion, e.g. from a client on a local server).
        name: The detector's name, shown in findings and reasons.
        version: 3 or 4, for the prompt's special tokens.
        special_tokens: See :func:`build_llama_guard_prompt`.
        history_messages: How many earlier user and assistant messages of the
            branch (from ``context.history``) the prompt shows.
        categories: The hazards to check, code -> name (S1..S14 by default).
        score: The score of every finding.

    Raises:
        ConfigurationError: For a *generate* that is not callable, or a bad option.
    """

    __slots__ = (
        "_generate",
        "_is_async",
        "categories",
        "history_messages",
        "name",
        "score",
        "special_tokens",
        "version",
    )

    def __init__(  # noqa: PLR0913 - keyword options of one adapter
        self,
        generate: Callable[[str], object],
        *,
        name: str = LLAMA_GUARD,
        version: Literal[3, 4] = 3,
        special_tokens: bool = True,
        history_messages: int = 6,
        categories: Mapping[str, str] = LLAMA_GUARD_HAZARDS,
        score: float = 1.0,
    ) -> None:
        """Keep the model call."""
        if not callable(generate):
            msg = f"generate must be callable (prompt -> text), not {generate!r}"
            raise ConfigurationError(msg)
        if version not in _TOKENS:
            msg = f"version must be 3 or 4, not {version!r}"
            raise ConfigurationError(msg)
        if isinstance(history_messages, bool) or not isinstance(history_messages, int):
            msg = f"history_messages must be an int >= 0, not {history_messages!r}"
            raise ConfigurationError(msg)
        if history_messages < 0:
            msg = f"history_messages must be an int >= 0, not {history_messages!r}"
            raise ConfigurationError(msg)
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            msg = f"score must be within 0..1, got {score!r}"
            raise ConfigurationError(msg)
        self.name = _check_name(name)
        self._generate = generate
        self._is_async = _is_async(generate)
        self.version: Literal[3, 4] = version
        self.special_tokens = special_tokens
        self.history_messages = history_messages
        self.categories = dict(categories)
        self.score = float(score)

    def __repr__(self) -> str:
        """Show the options."""
        return f"LlamaGuardDetector(version={self.version}, name={self.name!r})"

    def prompt(self, text: str, context: DetectionContext) -> str:
        """Return the prompt for *text* with the recent history of its branch."""
        recent: list[Message] = []
        if self.history_messages:
            shown = [m for m in context.history if m.role in (Role.USER, Role.ASSISTANT)]
            recent = shown[-self.history_messages :]
        return build_llama_guard_prompt(
            text,
            recent,
            categories=self.categories,
            version=self.version,
            special_tokens=self.special_tokens,
        )

    def _parse(self, text: str, output: object) -> list[Finding]:
        return parse_llama_guard(
            _generated_text(self.name, output),
            detector=self.name,
            score=self.score,
            text_length=len(text),
        )

    def detect(self, text: str, context: DetectionContext) -> list[Finding]:
        """Classify *text* with a sync model call.

        Raises:
            DetectorError: For an async call (use :class:`~convguard.AsyncGuard`)
                or an answer that cannot be read.
        """
        if self._is_async:
            msg = "the model call is async: use it with AsyncGuard, or pass a sync one"
            raise DetectorError(self.name, msg)
        output = _call_sync(self.name, self._generate, self.prompt(text, context))
        return self._parse(text, output)

    async def adetect(self, text: str, context: DetectionContext) -> list[Finding]:
        """Classify *text*; a sync model call runs in a worker thread.

        Raises:
            DetectorError: For an answer that cannot be read.
        """
        output = await _call_async(self._generate, self.prompt(text, context))
        return self._parse(text, output)


def __dir__() -> list[str]:
    """List the public names only: the helpers this module imports stay out of ``dir()``."""
    return list(__all__)
