"""The ``with`` block for anything that has a ``close()``: leaving the block closes it.

Written once here so the export's worker pool, its problems file and the test server do not
each carry their own copy of ``__enter__``/``__exit__``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class ClosedOnExit(ABC):
    """Base class: ``with Thing(...) as thing:`` gives ``thing`` and calls ``close()`` at the end,
    whether the block ended normally or by an exception (which then carries on)."""

    @abstractmethod
    def close(self) -> None:
        """Release what the object holds; called once when the ``with`` block ends."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()
