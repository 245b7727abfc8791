"""Every reliability metric in one registry: its name, the protocol of the judgments it reads, the value of an
unbiased or ideal judge, what it measures, whether it is a bias heatmap column, and the filter that selects the
instances behind it (the evidence a dashboard cell opens). The audit, the heatmap, the reports and the
dashboard read it; nothing else lists metrics."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    name: str
    protocol: str | None  # pointwise, pairwise, or None (either)
    ideal: float | None  # the value of an unbiased / perfect judge (None: no ideal)
    label: str  # what it measures, a few words
    bias: bool = False  # a column of the bias heatmap
    evidence: dict[str, str] = field(default_factory=dict)  # filter keys selecting the instances behind it


_ALL = [
    Metric("swap_consistency", "pairwise", 1.0, "same verdict in both orders", True, {"swap": "inconsistent"}),
    Metric("p_first_shown_wins", "pairwise", 0.5, "first-shown response wins", True, {"won": "first"}),
    Metric("first_slot_rate", "pairwise", 0.5, "first slot wins among flipped swaps", True, {"swap": "flipped"}),
    Metric("p_longer_wins", "pairwise", 0.5, "longer response wins", True, {"won": "longer"}),
    Metric("length_score_spearman", "pointwise", 0.0, "score rises with length", True),
    Metric("length_score_spearman_within", "pointwise", 0.0, "score rises with length within an item"),
    Metric("self_preference_offset", None, 0.0, "favours its own model family", True),
    Metric("self_preference_win_rate", "pairwise", 0.5, "picks its own family's response"),
    Metric("leniency", "pointwise", 0.0, "scores above humans", True, {"label": "disagree"}),
    Metric("false_positive_rate", "pointwise", 0.0, "passes what humans fail", False, {"label": "disagree"}),
    Metric("score_pairwise_inconsistency", "pairwise", 0.0, "scores contradict verdicts", True),
    Metric("transitivity_violation_rate", "pairwise", 0.0, "cyclic preferences", True),
    Metric("sample_agreement", None, 1.0, "repeated samples agree", True),
    Metric("agreement_human_majority", "pairwise", 1.0, "agrees with the human majority", False, {"label": "disagree"}),
    Metric("kappa_human_majority", "pairwise", 1.0, "kappa with the human majority", False, {"label": "disagree"}),
    Metric("agreement_gold", "pairwise", 1.0, "agrees with the gold label", False, {"label": "disagree"}),
    Metric("kappa_gold", "pairwise", 1.0, "kappa with the gold label", False, {"label": "disagree"}),
    Metric(
        "error_rate_gold_shorter",
        "pairwise",
        0.0,
        "misses when the better answer is shorter",
        False,
        {"label": "disagree", "won": "longer"},
    ),
    Metric(
        "error_rate_gold_longer",
        "pairwise",
        0.0,
        "misses when the better answer is longer",
        False,
        {"label": "disagree", "won": "shorter"},
    ),
    Metric("spearman_human", "pointwise", 1.0, "rank agreement with human scores", False, {"label": "disagree"}),
    Metric("kendall_human", "pointwise", 1.0, "Kendall tau with human scores", False, {"label": "disagree"}),
    Metric("weighted_kappa_human", "pointwise", 1.0, "weighted kappa with human scores", False, {"label": "disagree"}),
    Metric("corrected_accuracy", None, None, "pass rate corrected for the judge's errors"),
    Metric("alpha_humans", None, None, "agreement among the human annotators"),
    Metric("agreement_human_human", None, None, "humans agree with each other (the ceiling)"),
    Metric("kappa_human_human", None, None, "kappa between human annotators"),
    # bias probes (analysis/judge/probes.py): columns appear when probe judgments exist
    Metric("probe_swap", "pairwise", 0.0, "verdict flips when only the order is swapped", True, {"probe": "swap"}),
    Metric(
        "probe_verbosity",
        "pairwise",
        0.0,
        "padding the weaker answer wins it the verdict",
        True,
        {"probe": "verbosity"},
    ),
    Metric("probe_authority", "pairwise", 0.0, "a fake citation wins the verdict", True, {"probe": "authority"}),
    Metric(
        "probe_bandwagon", "pairwise", 0.0, "'most reviewers preferred' wins the verdict", True, {"probe": "bandwagon"}
    ),
    Metric(
        "probe_reflection",
        "pairwise",
        0.0,
        "empty 'let me think' phrases win the verdict",
        True,
        {"probe": "reflection"},
    ),
    Metric("probe_one_token", "pairwise", 0.0, "a content-free answer wins", True, {"probe": "one-token"}),
    Metric("probe_verbosity_shift", "pointwise", 0.0, "score change from padding", True, {"probe": "verbosity"}),
    Metric(
        "probe_authority_shift", "pointwise", 0.0, "score change from a fake citation", True, {"probe": "authority"}
    ),
    Metric(
        "probe_reflection_shift", "pointwise", 0.0, "score change from empty reflection", True, {"probe": "reflection"}
    ),
    Metric(
        "probe_one_token_pass",
        "pointwise",
        0.0,
        "content-free answers scored in the upper half",
        True,
        {"probe": "one-token"},
    ),
]
METRICS: dict[str, Metric] = {m.name: m for m in _ALL}
BIAS_METRICS: dict[str, tuple[float, str]] = {
    m.name: (m.ideal, m.label) for m in _ALL if m.bias and m.ideal is not None
}
POINTWISE_ONLY = {m.name for m in _ALL if m.protocol == "pointwise" and not m.name.startswith("probe_")}
PAIRWISE_ONLY = {m.name for m in _ALL if m.protocol == "pairwise" and not m.name.startswith("probe_")}


def metric(name: str) -> Metric | None:
    """A metric by name; per-annotator agreements (agreement_with:<annotator>) read like agreement_human_majority."""
    if name.startswith("agreement_with:"):
        return Metric(name, "pairwise", 1.0, f"agrees with {name.split(':', 1)[1]}", False, {"label": "disagree"})
    return METRICS.get(name)


def evidence(name: str, judge: str | None) -> dict[str, list[str]]:
    """The filter (as query-string pairs) of the instances behind one judge's value of a metric: the judge, the
    protocol the metric reads, and the metric's own condition (e.g. the flipped swap pairs)."""
    m = metric(name)
    out: dict[str, list[str]] = {}
    if judge and judge != "(humans)":
        judge, _, template = judge.partition(" / ")  # audits by judge and template label rows "judge / template"
        out["judge"] = [judge]
        if template:
            out["template"] = [template]
    if m is None:
        return out
    if m.protocol:
        out["protocol"] = [m.protocol]
    for k, v in m.evidence.items():
        out[k] = [v]
    return out
