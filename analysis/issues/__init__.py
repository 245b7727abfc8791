"""Issue discovery: critique sentences grouped into named issues (and strengths) under categories, with their
prevalence and lift. See docs/issues.md. Entry points: `ws.issues.discover` and `judgescope issues`.

Imported lazily: the pipeline's modules (numpy, the lexicon) are loaded when first used."""

from __future__ import annotations

_EXPORTS = {
    "discover": ".discover",
    "IssueSet": ".issueset",
    "list_sets": ".issueset",
    "Pipeline": ".pipeline",
    "Issues": ".api",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
