"""Start-up objects are frozen once per process, after a collection."""

from __future__ import annotations

import gc

from epro.startup import settle_after_startup


def test_settling_freezes_the_start_up_objects_once_per_process() -> None:
    settle_after_startup()  # whether this call or an earlier test's app did it
    assert gc.get_freeze_count() > 0
    assert settle_after_startup() is False  # a second unlock or app start changes nothing
    later: list[object] = []  # objects made afterwards are still the collector's to look after
    later.append(later)
    assert any(obj is later for obj in gc.get_objects())  # frozen objects are not listed
    assert not any(
        obj is test_settling_freezes_the_start_up_objects_once_per_process
        for obj in gc.get_objects()
    )  # this module's function was frozen
