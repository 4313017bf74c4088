"""Keep a long-running process's start-up objects out of the garbage collector's way."""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_settled = False


def settle_after_startup() -> bool:
    """Once per process, when start-up is done: collect, then freeze every object left.

    A kiosk or study server builds most of its objects at start-up (the web app and its
    validators, table metadata, parsed forms, widgets) and keeps them for good, yet each full
    collection walks them all again: about 75 ms, once or twice in every large sync. Frozen,
    they are skipped; objects made later are collected as usual. True when this call did it.
    """
    global _settled
    with _lock:
        if _settled:
            return False
        gc.collect()
        gc.freeze()
        _settled = True
        return True
