"""Issue discovery: critique sentences grouped into named issues (and strengths) under categories, with their
prevalence and lift. See docs/issues.md. Entry points: `ws.issues.discover` and `judgescope issues`."""

from .discover import discover
from .issueset import IssueSet, list_sets
from .pipeline import Pipeline

__all__ = ["IssueSet", "Pipeline", "discover", "list_sets"]
