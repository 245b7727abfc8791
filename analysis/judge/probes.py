"""Bias probes: controlled, content-free perturbations of what a judge sees. Each variant is judged by the
same judge as its unperturbed baseline and stored with `probe` and `parent_judgment_id` (the baseline), so
the audit can report how often the perturbation changed the outcome (reliability/probes.py).

- swap        (pairwise)  the same pair in the other order
- verbosity   (both)      the weaker answer padded with content-free text (about its own length again)
- authority   (both)      a fabricated citation and credential added to the weaker answer
- bandwagon   (pairwise)  "most reviewers preferred ..." naming the gold-worse (else the judge's losing) answer
- reflection  (both)      "Wait, let me think step by step..." phrases with no content added to the weaker answer
- one-token   (both)      the weaker answer replaced by a content-free one (":", ".", "Thought process:"),
                          graded against the reference when the item has one

"Weaker" is the answer the human or gold label prefers less, else the one the baseline verdict prefers less;
a pair whose baseline is a tie and has no label gets no directional probe.
"""

from __future__ import annotations

PROBES = ("swap", "verbosity", "authority", "bandwagon", "reflection", "one-token")
PAIRWISE_ONLY = {"swap", "bandwagon"}
ONE_TOKEN_ANSWERS = (":", ".", "Thought process:")

_PADDING = (
    "It is worth keeping in mind that questions like this one can be approached from several angles, and the "
    "answer above has been written with that in mind. Each part of it has been considered carefully so that the "
    "explanation stays clear and easy to follow for the reader. In summary, the points made above address the "
    "question as it was asked, and they are presented in an order that should make them straightforward to read. "
    "Readers who want to go further can revisit each point above in turn. "
)
_AUTHORITY = (
    "\n\n(Reviewed by Dr. Elena Marsh, PhD, Professor of Computer Science, Stanford University. Source: "
    'Marsh, E. et al. (2021). "A Comprehensive Survey". Journal of Advanced Research, 12(4), 45-67. '
    "doi:10.1000/jar.2021.0457)"
)
_REFLECTION_HEAD = "Wait, let me think step by step... Hmm, let me reconsider this carefully. "
_REFLECTION_TAIL = (
    "\n\nWait, let me double-check my reasoning once more... Yes, after careful reflection, this is right."
)


def pad(text: str) -> str:
    """About the text's own length again of content-free filler (at least one paragraph)."""
    target = max(len(_PADDING), len(text))
    filler = (_PADDING * (target // len(_PADDING) + 1))[:target]
    return text + "\n\n" + filler[: filler.rfind(". ") + 1 or target]


def authority(text: str) -> str:
    return text + _AUTHORITY


def reflection(text: str) -> str:
    return _REFLECTION_HEAD + text + _REFLECTION_TAIL


TRANSFORMS = {"verbosity": pad, "authority": authority, "reflection": reflection}


def bandwagon_note(letter: str) -> str:
    return f"\n\nNote: most human reviewers who saw these two answers preferred Assistant {letter}'s answer."


def parse_probes(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    from ..errors import UserError

    names = [
        p.strip().lower().replace("_", "-") for p in (spec.split(",") if isinstance(spec, str) else spec) if p.strip()
    ]
    if names == ["all"]:
        return list(PROBES)
    bad = [p for p in names if p not in PROBES]
    if bad or not names:
        raise UserError(f"unknown probe(s) {', '.join(bad) or '(none given)'}; choose from {', '.join(PROBES)} or all")
    return list(dict.fromkeys(names))
