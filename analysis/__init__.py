"""judgescope: error analysis for LLM-as-a-judge feedback.

from analysis import Workspace
ws = Workspace("judgescope.duckdb")
"""

from .errors import UserError
from .filters import Filter
from .workspace import Workspace

__all__ = ["Filter", "UserError", "Workspace"]
__version__ = "0.1.0"
