"""Running LLM judges and bias probes against any OpenAI-compatible endpoint (docs/judging.md)."""

from .client import CallOptions, Endpoint
from .probes import PROBES
from .runner import JudgeResult, JudgeSpec, judge, probe
from .templates import BUILTIN, Template, load_template

__all__ = [
    "BUILTIN",
    "CallOptions",
    "Endpoint",
    "JudgeResult",
    "JudgeSpec",
    "PROBES",
    "Template",
    "judge",
    "load_template",
    "probe",
]
