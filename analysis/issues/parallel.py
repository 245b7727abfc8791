"""Pure-Python work per item (splitting critiques into sentences, reading them with regular expressions) spread
over the machine's cores when there is enough of it to pay for starting the processes (about a second each).

Fresh processes (spawn), so nothing of this one (open workspace files, threads) is shared; the order of the
results is the order of the items, so a run gives the same issue set on one core or several. Inside a worker of
`discover_many` (already one process per core) everything runs in place.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from typing import Any

MIN_ITEMS = 20_000  # below this the processes cost more than they save
NO_SPLIT = "JUDGESCOPE_NO_SPLIT"  # set in discover_many's workers


def pmap(fn: Callable[[Any], Any], items: Sequence, min_items: int = MIN_ITEMS) -> list:
    """[fn(x) for x in items], over the cores when `items` are many. `fn` must be picklable (a module-level
    function, or a functools.partial of one with picklable arguments)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(items) < min_items or workers < 2 or os.environ.get(NO_SPLIT):
        return [fn(x) for x in items]
    size = -(-len(items) // (workers * 4))
    chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
    with bare_main(), pool(workers) as running:
        parts = list(running.map(_apply, [fn] * len(chunks), chunks))
    return [y for part in parts for y in part]


def pool(workers: int):
    """A pool of fresh (spawned) worker processes that end when this process ends, however it ends: a
    `judgescope issues` killed mid-run leaves no workers behind, still computing or waiting for a parent that is
    gone."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    return ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_follow_parent, initargs=(os.getpid(),)
    )


def _follow_parent(parent: int) -> None:
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _apply(fn: Callable[[Any], Any], chunk: list) -> list:
    os.environ[NO_SPLIT] = "1"
    return [fn(x) for x in chunk]


@contextlib.contextmanager
def bare_main():
    """Spawned workers re-run the parent's __main__ module; when that is a script that does work on import (a
    Streamlit page run in-process, e.g. by AppTest), they must not. The workers need nothing from it."""
    import sys
    import types

    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
