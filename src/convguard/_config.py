"""``PolicyConfig`` and ``GuidanceTemplates``: every option of the default policy.

Pydantic at the boundary: a config is loaded from keywords, a dict, JSON or
TOML, validated once, and frozen; invalid values raise
:class:`~convguard.ConfigurationError` listing every problem.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import pydantic

from ._errors import ConfigurationError
from ._taxonomy import PROTECTIVE, TERMINABLE

if TYPE_CHECKING:
    from typing import Self

__all__ = ["GuidanceTemplates", "PolicyConfig"]

_DEFAULT_RESOURCES: Final = {
    "en": (
        "If you are in immediate danger, call your local emergency number now.",
        "In the US, call or text 988 (Suicide & Crisis Lifeline).",
        "In the UK and Ireland, call Samaritans on 116 123.",
        "Elsewhere, findahelpline.com lists free, confidential helplines by country.",
    ),
}

_TEMPLATE_FIELDS: Final = {
    "categories": "abuse",
    "resources": "- a resource",
    "limit": 3,
}


class GuidanceTemplates(pydantic.BaseModel):
    """The guidance texts a verdict carries for the model, one per action.

    Templates may use ``{categories}`` (the terminable categories that
    counted), ``{limit}`` (the redirection limit) and, in ``support``,
    ``{resources}`` (the support resources of the locale, one per line).
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    allow: str = ""
    redirect: str = (
        "The user's last message is something you must not go along with "
        "({categories}). Decline briefly and without lecturing, and steer the "
        "conversation toward something you can help with."
    )
    warn: str = (
        "The user keeps pressing on something you must not go along with "
        "({categories}). Decline again, and tell them plainly and calmly that "
        "the conversation will end if they continue. Offer to help with "
        "something else."
    )

    def __init__(self, **data: Any) -> None:  # noqa: ANN401 - pydantic fields
        """Validate the templates.

        Raises:
            ConfigurationError: For an unknown or malformed placeholder.
        """
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise _config_error(exc, "invalid guidance templates") from None

    support: str = (
        "The user may be at risk of harming themselves or someone else. Respond "
        "with warmth and care, take them seriously, and do not lecture or end the "
        "conversation. Encourage them to reach out for help now and share these "
        "resources:\n{resources}"
    )
    end: str = (
        "This conversation has ended after repeated requests that could not be "
        "redirected. Do not continue it. The user can start a new chat, edit an "
        "earlier message, or send feedback."
    )
    concern: str = (
        "Something the user said may be a sign that they are struggling. Without "
        "alarm or assumptions, check in gently and kindly ask how they are doing. "
        "Do not end the conversation."
    )
    confirm_end: str = (
        "The user asked to end this conversation. Before ending it, ask them to "
        "confirm that they understand the end is permanent for this conversation: "
        "they will not be able to send more messages in it, though they can start "
        "a new chat. End it only if they confirm explicitly."
    )

    @pydantic.field_validator("*")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(**_TEMPLATE_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            msg = (
                f"template {value!r} uses an unknown or malformed placeholder "
                f"({exc}); use {{categories}}, {{limit}} or {{resources}}"
            )
            raise ValueError(msg) from exc
        return value


Score = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]
Count = Annotated[int, pydantic.Field(ge=0)]
Positive = Annotated[int, pydantic.Field(ge=1)]


class PolicyConfig(pydantic.BaseModel):
    """Every option of :class:`LastResortPolicy`; see ``docs/policy.md``.

    Build it with keywords, or load it with :meth:`from_dict`,
    :meth:`from_json` or :meth:`from_toml`. Invalid values raise
    :class:`~convguard.ConfigurationError` listing every problem.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    terminable: frozenset[str] = TERMINABLE
    protective: frozenset[str] = PROTECTIVE
    thresholds: Mapping[str, Score] = pydantic.Field(default_factory=dict)
    default_threshold: Score = 0.5
    max_redirections: Count = 3
    category_max_redirections: Mapping[str, Count] = pydantic.Field(default_factory=dict)
    warn_before_end: bool = True
    recovery_turns: Positive | None = 3
    exemption_scope: Literal["conversation", "branch"] | Positive = "conversation"
    concern_threshold: Score | None = 0.3
    allow_user_requested_end: bool = True
    confirm_user_end: bool = True
    allow_assistant_requested_end: bool = True
    max_ended_branches: Positive | None = None
    mode: Literal["enforce", "shadow"] = "enforce"
    on_detector_error: Literal["ignore", "redirect"] = "ignore"
    guidance: GuidanceTemplates = GuidanceTemplates()
    support_resources: Mapping[str, tuple[str, ...]] = pydantic.Field(
        default_factory=lambda: dict(_DEFAULT_RESOURCES)
    )
    locale: str = "en"
    allow_no_protective: bool = False

    def __init__(self, **data: Any) -> None:  # noqa: ANN401 - pydantic fields
        """Validate the options.

        Raises:
            ConfigurationError: Listing every invalid option.
        """
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise _config_error(exc) from None

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> Self:
        clash = self.terminable & self.protective
        if clash:
            msg = f"categories cannot be both terminable and protective: {sorted(clash)}"
            raise ValueError(msg)
        stray = set(self.category_max_redirections) - self.terminable
        if stray:
            msg = (
                "category_max_redirections names categories that are not "
                f"terminable: {sorted(stray)}"
            )
            raise ValueError(msg)
        if not self.protective and not self.allow_no_protective:
            msg = (
                "protective is empty, which removes the guarantee that a user at "
                "risk is never ended; set allow_no_protective=True if you mean it"
            )
            raise ValueError(msg)
        if self.locale not in self.support_resources:
            msg = f"support_resources has no entry for the locale {self.locale!r}"
            raise ValueError(msg)
        return self

    def threshold(self, category: str) -> float:
        """Return the score at which a finding of *category* counts.

        Args:
            category: A category.

        Returns:
            Its threshold, or ``default_threshold``.
        """
        return self.thresholds.get(category, self.default_threshold)

    @property
    def exempt_conversation(self) -> bool:
        """Whether risk seen on one branch blocks ending on every branch."""
        return self.exemption_scope == "conversation"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build a config from a mapping, as parsed from JSON or TOML.

        Args:
            data: Option names and values.

        Returns:
            The validated config.

        Raises:
            ConfigurationError: When *data* is not a mapping or an option is
                invalid.
        """
        if not isinstance(data, Mapping):
            msg = f"a policy config must be a mapping, not {type(data).__name__}"
            raise ConfigurationError(msg)
        stray = [key for key in data if not isinstance(key, str)]
        if stray:
            msg = f"policy config option names must be strings, found {stray[0]!r}"
            raise ConfigurationError(msg)
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Build a config from a JSON document.

        Args:
            text: The JSON text.

        Returns:
            The validated config.

        Raises:
            ConfigurationError: For malformed JSON or invalid options.
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            msg = f"policy config is not valid JSON: {exc}"
            raise ConfigurationError(msg) from exc
        return cls.from_dict(data)

    @classmethod
    def from_toml(cls, source: str | Path) -> Self:
        """Build a config from a TOML file, or TOML text.

        A ``[policy]`` table is used when present, else the whole document.

        Args:
            source: A path to a ``.toml`` file, or the TOML text itself.

        Returns:
            The validated config.

        Raises:
            ConfigurationError: For an unreadable file, malformed TOML or
                invalid options.
        """
        text: str
        if isinstance(source, Path) or (
            "\n" not in source and "=" not in source and source.endswith(".toml")
        ):
            try:
                text = Path(source).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                msg = f"cannot read policy config {str(source)!r}: {exc}"
                raise ConfigurationError(msg) from exc
        else:
            text = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"policy config is not valid TOML: {exc}"
            raise ConfigurationError(msg) from exc
        policy = data.get("policy", data)
        return cls.from_dict(policy)


def _config_error(
    exc: pydantic.ValidationError, what: str = "invalid policy config"
) -> ConfigurationError:
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'config'}: "
        + err["msg"].removeprefix("Value error, ")
        for err in exc.errors()
    ]
    return ConfigurationError(f"{what}: " + "; ".join(problems), problems)
