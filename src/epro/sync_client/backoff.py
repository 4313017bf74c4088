"""Retry timing: exponential backoff with full jitter and a cap.

Full jitter (a uniform draw between zero and the exponential ceiling) spreads the retries of
many kiosks that lost the network at the same moment, so they do not all hit the server again
in lock-step when it comes back.
"""

from __future__ import annotations

from typing import Protocol


class Uniform(Protocol):
    """What we need from a random source (``random.Random`` fits)."""

    def uniform(self, a: float, b: float) -> float: ...


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The largest delay before retry number ``attempt`` (0 for the first retry)."""
    if attempt < 0 or base < 0 or cap < 0:
        raise ValueError("attempt, base and cap must not be negative")
    # 2**attempt overflows float for huge attempts; past 64 doublings the cap has long won.
    return min(cap, base * 2.0 ** min(attempt, 64))


def backoff_delay(attempt: int, base: float, cap: float, rng: Uniform) -> float:
    """Seconds to wait before retry ``attempt``: uniform in [0, min(cap, base·2^attempt)]."""
    return rng.uniform(0.0, backoff_ceiling(attempt, base, cap))
