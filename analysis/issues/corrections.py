"""Readers' corrections carried into the next discovery: a judgment readers marked "does not fit" for an issue
(`IssueSet.mark`, the Issues page's Examples) stays out of the issue of that name in every later set of the
workspace, until a reader marks it "fits" again.

Only the marked judgments move. Carrying a mark to statements worded like the marked one was measured and not
kept (docs/issues.md, "Tried in session 6"): what makes a member a misfit is mostly the rest of its critique.

Which marks count: per reader, the newest mark on a judgment for an issue of that kind and name (in any set); per
judgment, the readers' majority, a tie counting as "does not fit" (as `IssueSet.checked` counts them). An issue
is matched by its kind and its name as it is now (a renamed issue's marks follow its new name).
"""

from __future__ import annotations

from typing import Any

from ..query import Query

# (kind, title) -> the judgments readers say do not have it
Misfits = dict[tuple[str, str], frozenset[str]]


def misfits(q: Query, where: str = "TRUE", params: list[Any] | None = None) -> Misfits:
    """The judgments readers marked as not having an issue, by the issue's kind and name, among the judgments
    `where` selects (a Filter's condition on `judgment_view j`, with its parameters)."""
    frame = q.frame(
        f"""
        WITH named AS (SELECT i.kind, i.title, m.judgment_id, m.fits, m.who, m.marked_at
                       FROM issue_marks m JOIN issues i USING (issue_set_id, issue_id)
                       WHERE m.judgment_id IN (SELECT j.judgment_id FROM judgment_view j WHERE {where})),
        cur AS (SELECT * FROM named
                QUALIFY row_number() OVER (PARTITION BY kind, title, judgment_id, who ORDER BY marked_at DESC) = 1)
        SELECT kind, title, judgment_id FROM cur GROUP BY 1, 2, 3 HAVING avg(fits::INT) <= 0.5
        ORDER BY 1, 2, 3""",
        params or [],
    )
    out: dict[tuple[str, str], set[str]] = {}
    for kind, title, j in frame.iter_rows():
        out.setdefault((kind, title), set()).add(j)
    return {k: frozenset(v) for k, v in out.items()}


def marked_out(misfits: Misfits, kind: str, title: str, judgment_id: str) -> bool:
    """Whether readers marked the judgment as not having the issue of that kind and name."""
    return judgment_id in misfits.get((kind, title), ())


def describe(corrected: dict[str, int]) -> str:
    """What readers' marks changed in a set (`IssueSet.corrected`), as the CLI and the Issues page say it; "" when
    nothing moved."""
    if not corrected:
        return ""
    named = ", ".join(f"{title} ({n:,})" for title, n in corrected.items())
    return (
        f"Readers' marks left {sum(corrected.values()):,} judgments out of the issues they were marked "
        f"'does not fit' for: {named}."
    )
