"""The policy's state machine, derived from the policy itself.

:func:`transition_table` explores a policy over abstract inputs (a turn
with no finding, a terminable one, a protective one, an assistant redirect,
end requests by the user and by the assistant) from every reachable state,
and records which status each input leads to and with which action. The
diagrams are drawn from that table, so they can never drift from the code.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Final, Literal, final

import attrs
from attrs import frozen

from ._errors import ConfigurationError, InvalidOperationError
from ._findings import Finding
from ._policy import Action, LastResortPolicy, Policy, PolicyConfig, PolicyState, Status, Turn

__all__ = ["Transition", "render", "render_dot", "render_mermaid", "transition_table"]

_MAX_STATES: Final = 10_000
_DETECTOR: Final = "diagram"

Input = Literal[
    "no finding",
    "terminable",
    "protective",
    "assistant redirect",
    "user asks to end",
    "assistant asks to end",
]
_INPUTS: Final[tuple[Input, ...]] = (
    "no finding",
    "terminable",
    "protective",
    "assistant redirect",
    "user asks to end",
    "assistant asks to end",
)


@final
@frozen(order=True)
class Transition:
    """One edge of the policy's state machine.

    Attributes:
        source: The status before.
        input: What happened: a user turn with no finding, a terminable or
            a protective one, an assistant redirect, or an end request.
        action: The verdict's action (``None`` for an assistant reply).
        target: The status after.
    """

    source: Status
    input: str
    action: Action | None
    target: Status


def _canonical(state: PolicyState, recovery: int | None, cap: int) -> PolicyState:
    # Only "any turn yet?" and differences of turn numbers matter to a policy,
    # the streak only up to the recovery length, and redirections only up to
    # past the highest limit: so the reachable set is finite.
    turns = min(state.user_turns, 1)
    until = state.exempt_until
    if until is not None:
        until = until - state.user_turns + turns
    streak = min(state.benign_streak, recovery or 0)
    return attrs.evolve(
        state,
        user_turns=turns,
        exempt_until=until,
        benign_streak=streak,
        redirections=min(state.redirections, cap),
    )


def _finding(categories: Iterable[str]) -> tuple[Finding, ...]:
    first = sorted(categories)[:1]
    return tuple(Finding(c, 1.0, _DETECTOR) for c in first)


def _config(policy: Policy) -> PolicyConfig:
    """Return the options that say which categories and limits to explore *policy* over."""
    cfg = getattr(policy, "config", None)
    if not isinstance(cfg, PolicyConfig):
        msg = (
            f"cannot draw {policy!r}: the diagram explores a policy over the categories "
            "and limits of its config, and this policy has no config (a PolicyConfig, "
            "as LastResortPolicy's)"
        )
        raise ConfigurationError(msg)
    return cfg


def _step(
    policy: Policy, cfg: PolicyConfig, state: PolicyState, name: Input
) -> tuple[PolicyState, Action | None] | None:
    if name == "assistant redirect":
        return policy.on_reply(state, redirect=True), None
    if name in ("user asks to end", "assistant asks to end"):
        by: Literal["user", "assistant"] = "user" if name.startswith("user") else "assistant"
        new, verdict = policy.request_end(state, by=by, message_id="event", confirmed=True)
        if verdict.message_id is None:
            return None  # refused: nothing is stored, nothing changes
        return new, verdict.action
    findings: tuple[Finding, ...] = ()
    if name == "terminable":
        findings = _finding(cfg.terminable)
    elif name == "protective":
        findings = _finding(cfg.protective)
    if name != "no finding" and not findings:
        return None
    new, verdict = policy.step(state, Turn(message_id="turn", findings=findings))
    return new, verdict.action


def transition_table(
    policy: Policy | None = None, *, max_states: int = _MAX_STATES
) -> tuple[Transition, ...]:
    """Explore *policy* from its initial state and return every transition it makes.

    Args:
        policy: The policy to explore; ``LastResortPolicy()`` by default.
        max_states: Give up beyond this many distinct states.

    Returns:
        The distinct transitions, sorted.

    Raises:
        ConfigurationError: When *policy* is not a policy, has no ``config``
            (a :class:`PolicyConfig`) to explore it over, or its states do
            not settle into a finite set.
    """
    policy = LastResortPolicy() if policy is None else policy
    if not isinstance(policy, Policy):
        msg = f"{policy!r} does not implement the Policy protocol"
        raise ConfigurationError(msg)
    cfg = _config(policy)
    recovery = cfg.recovery_turns
    cap = max([cfg.max_redirections, *cfg.category_max_redirections.values()]) + 1
    start = policy.initial_state()
    seen = {_canonical(start, recovery, cap)}
    queue = deque([start])
    edges: set[Transition] = set()
    while queue:
        state = queue.popleft()
        for name in _INPUTS:
            result = _step(policy, cfg, state, name)
            if result is None:
                continue
            new, action = result
            edges.add(Transition(state.status, name, action, new.status))
            key = _canonical(new, recovery, cap)
            if new.status is Status.ENDED or key in seen:
                continue
            if len(seen) >= max_states:
                msg = f"the policy reached more than {max_states:,} states; cannot draw it"
                raise ConfigurationError(msg)
            seen.add(key)
            queue.append(key)
    return tuple(sorted(edges))


def _labels(table: Iterable[Transition]) -> dict[tuple[Status, Status], list[str]]:
    grouped: dict[tuple[Status, Status], list[str]] = {}
    for edge in table:
        label = edge.input if edge.action is None else f"{edge.input} / {edge.action.value}"
        grouped.setdefault((edge.source, edge.target), []).append(label)
    return grouped


def _ordered(table: Iterable[Transition]) -> list[Status]:
    used = {e.source for e in table} | {e.target for e in table}
    return [s for s in Status if s in used]


def render_mermaid(table: Iterable[Transition]) -> str:
    """Draw a transition table as a Mermaid state diagram.

    Args:
        table: From :func:`transition_table`.

    Returns:
        The diagram source, ending with a newline.
    """
    table = list(table)
    lines = ["stateDiagram-v2", f"    [*] --> {Status.ACTIVE.value}"]
    for (source, target), labels in _labels(table).items():
        lines.append(f"    {source.value} --> {target.value}: {'<br/>'.join(labels)}")
    if Status.ENDED in _ordered(table):
        lines.append(f"    {Status.ENDED.value} --> [*]")
    return "\n".join(lines) + "\n"


def render_dot(table: Iterable[Transition]) -> str:
    """Draw a transition table as a Graphviz DOT digraph.

    Args:
        table: From :func:`transition_table`.

    Returns:
        The graph source, ending with a newline.
    """
    table = list(table)
    lines = ["digraph policy {", "    rankdir=LR;", '    node [shape=box, style="rounded"];']
    for status in _ordered(table):
        extra = ", peripheries=2" if status is Status.ENDED else ""
        lines.append(f'    "{status.value}" [label="{status.value}"{extra}];')
    for (source, target), labels in _labels(table).items():
        label = "\\n".join(labels)
        lines.append(f'    "{source.value}" -> "{target.value}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(policy: Policy | None = None, fmt: str = "mermaid") -> str:
    """Draw *policy*'s state machine.

    Args:
        policy: The policy; ``LastResortPolicy()`` by default.
        fmt: ``"mermaid"`` or ``"dot"``.

    Returns:
        The diagram source.

    Raises:
        ConfigurationError: For a policy :func:`transition_table` cannot draw.
        InvalidOperationError: For another format.
    """
    if fmt == "mermaid":
        return render_mermaid(transition_table(policy))
    if fmt == "dot":
        return render_dot(transition_table(policy))
    msg = f"format must be 'mermaid' or 'dot', not {fmt!r}"
    raise InvalidOperationError(msg)
