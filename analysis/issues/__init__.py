"""Issue discovery: cluster critique segments into named, quantified recurring issues.
See docs/issues.md. Entry points: `Workspace.discover_issues` and `judgescope issues`."""

from .discover import discover
from .issueset import IssueSet, list_sets
from .pipeline import Params

__all__ = ["IssueSet", "Params", "discover", "list_sets"]
