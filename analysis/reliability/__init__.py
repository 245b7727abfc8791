"""Judge reliability: position, length and self-preference bias, leniency, agreement, consistency,
corrected accuracy, and rubric breakdowns. Every metric is a DuckDB query plus small numpy work."""

from .audit import BIAS_METRICS, run_audit
from .context import AuditContext
from .self_preference import DEFAULT_FAMILIES, family_of

__all__ = ["AuditContext", "BIAS_METRICS", "DEFAULT_FAMILIES", "family_of", "run_audit"]
