"""`ws.issues`: discover issue sets, open a stored one, list them, and compare two models or judges on one."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import UserError
from ..filters import Filter, as_filter
from ..query import Query

FilterLike = Filter | str | dict | None


class Issues:
    def __init__(self, q: Query, path: Path):
        self.q = q
        self.path = path

    def discover(
        self,
        filter: FilterLike = None,
        *,
        seed: int = 0,
        name_with: str | None = None,
        taxonomy: list[dict] | None = None,
        name: str | None = None,
        progress: bool | None = None,
        **options,
    ):
        """Group the critique sentences `filter` selects into named issues (and strengths) under categories,
        stored as an issue set. Options are the pipeline stages' fields (docs/issues.md), e.g. per_cluster=60,
        embedding_model=..., lexicon="my.toml". taxonomy: known issues as [{"title", "description"}]; segments
        close to one join it, the rest is still clustered. name_with: an OpenAI-compatible model names them.
        progress: bars for embedding and the stages (None: when a terminal or notebook is watching)."""
        from .. import progress as progress_
        from .discover import discover
        from .issueset import IssueSet
        from .pipeline import Pipeline

        pipeline = Pipeline.make(seed=seed, **options)
        if taxonomy is not None:
            taxonomy = [t if isinstance(t, dict) else {"title": str(t)} for t in taxonomy]
            if any(not t.get("title") for t in taxonomy):
                raise UserError("every known issue needs a title")
        with progress_.reporting(progress):
            set_id = discover(self.q, as_filter(filter), pipeline, taxonomy=taxonomy, name_with=name_with, name=name)
        return IssueSet(self.q, set_id)

    def get(self, issue_set_id: str | None = None):
        """A stored issue set (the newest when no id is given)."""
        from .issueset import IssueSet

        if issue_set_id is None:
            issue_set_id = self.q.newest_issue_set()
            if issue_set_id is None:
                raise UserError(f"no issue set in {self.path}; run `judgescope issues` or ws.issues.discover() first")
        return IssueSet(self.q, issue_set_id)

    __call__ = get

    def sets(self) -> pl.DataFrame:
        from .issueset import list_sets

        return list_sets(self.q)

    def compare(
        self, a: str, b: str, by: str = "model", filter: FilterLike = None, issue_set: str | None = None
    ) -> pl.DataFrame:
        """Issue prevalence of a versus b (two models or judges) within `filter`: shares, their difference and a
        95% interval for it."""
        from ..instances import compare_issues

        return compare_issues(self.get(issue_set or as_filter(filter).issue_set), a, b, by, filter)
