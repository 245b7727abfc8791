"""Progress of long steps (embedding, issue discovery's stages) for whoever is waiting: a bar with counts and an
ETA on a terminal or in a notebook, nothing when no one watches (not a terminal, `--json`, `progress=False`).

Code that does the work asks for `bar(description, total)` and calls `update(n)`; whether anything is drawn is
decided once, by the caller at the top (`reporting(True/False/None)`), so library code never prints on its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("judgescope_progress", default=False)


def watched() -> bool:
    """Someone is watching: stderr is a terminal, or this runs in a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def reporting(enabled: bool | None = None):
    """Draw progress bars inside this block: True, False, or None (when someone is watching)."""
    token = _enabled.set(watched() if enabled is None else bool(enabled))
    try:
        yield
    finally:
        _enabled.reset(token)


class _Quiet:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    """A tqdm bar that threads may update (the embedding's worker threads share one)."""

    def __init__(self, description: str, total: int | None, unit: str):
        if "ipykernel" in sys.modules:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self._bar = tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)
        self._lock = threading.Lock()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self._bar.update(n)

    def set_postfix_str(self, text: str) -> None:
        with self._lock:
            self._bar.set_postfix_str(text)

    def close(self) -> None:
        self._bar.close()


def bar(description: str, total: int | None = None, unit: str = "it"):
    """A progress bar when reporting is on (see reporting()), else an object whose methods do nothing."""
    if not _enabled.get():
        return _Quiet()
    return _Bar(description, total, unit)
