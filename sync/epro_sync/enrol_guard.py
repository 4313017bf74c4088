"""Slowing down and locking out guessed enrolment codes, per client address.

A code is 12 characters of a 32-letter alphabet, so guessing one is hopeless; but every failure
is still recorded in the server audit and answered later the more often one address fails: the
delay doubles per failure within :data:`WINDOW` (from ``enrol_failure_delay_s``, at most
:data:`MAX_DELAY_S`), and after ``enrol_lockout_failures`` failures the address gets 429 until
the window has passed since its last failure. Kept in memory per server process (each instance
behind a load balancer counts for itself), for at most :data:`MAX_ADDRESSES` addresses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Final

WINDOW: Final = timedelta(minutes=15)
MAX_DELAY_S: Final = 8.0
MAX_ADDRESSES: Final = 10_000


class EnrolGuard:
    """Failure counts per address; thread-safe."""

    def __init__(self, base_delay_s: float, lockout_failures: int) -> None:
        self.base_delay_s = base_delay_s
        self.lockout_failures = lockout_failures
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and now - times[0] > WINDOW:
            times.popleft()
        return times

    def locked_until(self, address: str, now: datetime) -> datetime | None:
        """When ``address`` may try again, if it is locked out now."""
        with self._lock:
            times = self._recent(address, now)
            if len(times) >= self.lockout_failures:
                return times[-1] + WINDOW
            return None

    def failed(self, address: str, now: datetime) -> float:
        """Count a failure; the seconds to wait before answering it."""
        with self._lock:
            times = self._recent(address, now)
            times.append(now)
            self._failures[address] = times
            self._failures.move_to_end(address)
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)
            delay: float = self.base_delay_s * 2.0 ** (len(times) - 1)
            return min(delay, MAX_DELAY_S)
