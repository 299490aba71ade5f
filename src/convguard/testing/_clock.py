"""``FakeClock``: a clock a test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final, final

from .._errors import ConfigurationError

__all__ = ["FakeClock"]

_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)


@final
class FakeClock:
    """A clock that stands still until told to move, for ``Guard(clock=...)``.

    Every reading returns :attr:`now`, then moves it on by *tick* (zero by
    default), so stored messages get known, reproducible times.

    Args:
        start: The first time it reads (timezone-aware); 2026-01-01 UTC by default.
        tick: How far every reading moves it on.

    Raises:
        ConfigurationError: For a naive *start* or a negative *tick*.

    Example:
        >>> clock = FakeClock()
        >>> clock.advance(minutes=5).isoformat()
        '2026-01-01T00:05:00+00:00'
    """

    __slots__ = ("now", "readings", "tick")

    def __init__(self, start: datetime | None = None, *, tick: timedelta | None = None) -> None:
        """Set the clock."""
        start = _EPOCH if start is None else start
        if not isinstance(start, datetime) or start.tzinfo is None:
            msg = f"FakeClock needs a timezone-aware datetime, got {start!r}"
            raise ConfigurationError(msg)
        tick = timedelta(0) if tick is None else tick
        if not isinstance(tick, timedelta) or tick < timedelta(0):
            msg = f"FakeClock tick must be a timedelta >= 0, got {tick!r}"
            raise ConfigurationError(msg)
        self.now = start
        self.tick = tick
        self.readings = 0

    def __repr__(self) -> str:
        """Show the time it reads."""
        return f"FakeClock({self.now.isoformat()})"

    def __call__(self) -> datetime:
        """Return the current time, then move on by the tick."""
        now = self.now
        self.now = now + self.tick
        self.readings += 1
        return now

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> datetime:
        """Move the clock forward.

        Args:
            delta: How far, as a timedelta; added to the keyword amounts.
            days: Days to add.
            hours: Hours to add.
            minutes: Minutes to add.
            seconds: Seconds to add.

        Returns:
            The new time.

        Raises:
            ConfigurationError: When the total is negative: a clock never
                goes back.
        """
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if delta is not None:
            if not isinstance(delta, timedelta):
                msg = f"advance() takes a timedelta, not {type(delta).__name__}"
                raise ConfigurationError(msg)
            step += delta
        if step < timedelta(0):
            msg = f"a clock never goes back; advance() got {step}"
            raise ConfigurationError(msg)
        self.now += step
        return self.now
