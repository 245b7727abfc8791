"""Judge reliability: position, length and self-preference bias, leniency, agreement, consistency,
corrected accuracy, and rubric breakdowns. Every metric is a DuckDB query plus small numpy work.

Imported lazily: scipy.stats alone costs seconds, and most commands need none of it."""

from __future__ import annotations

_EXPORTS = {
    "run_audit": ".audit",
    "BIAS_METRICS": ".metrics",
    "METRICS": ".metrics",
    "AuditContext": ".context",
    "Audit": ".api",
    "Rubrics": ".api",
    "DEFAULT_FAMILIES": ".self_preference",
    "family_of": ".self_preference",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
