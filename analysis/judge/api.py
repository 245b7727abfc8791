"""`ws.judge`: run an LLM judge (callable), bias probes and the failure log. The options are the fields of
`JudgeSpec` (what to judge) and `CallOptions` (how to call): their defaults and checks live there only."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import polars as pl

from ..errors import UserError
from ..filters import Filter, as_filter
from ..query import Query

FilterLike = Filter | str | dict | None


def spec_fields() -> list[dataclasses.Field]:
    """The JudgeSpec fields a caller sets (the template is named separately)."""
    from .runner import JudgeSpec

    return [f for f in dataclasses.fields(JudgeSpec) if f.name != "template"]


def call_fields() -> list[dataclasses.Field]:
    from .client import CallOptions

    return list(dataclasses.fields(CallOptions))


class Judging:
    """`ws.judge(filter, model=..., template=...)` judges the responses (pointwise templates) or pairs (pairwise
    templates) `filter` selects at an OpenAI-compatible endpoint (base_url / api_key, else OPENAI_BASE_URL /
    OPENAI_API_KEY); the judgments land in this workspace. Options: JudgeSpec's fields (criteria, per_criterion,
    both_orders, pairs, baseline, reference, samples, judge_name, limit) and CallOptions' (concurrency, timeout,
    max_tries, backoff, temperature, max_tokens, json_mode, logprobs, price_in, price_out, budget, progress)."""

    def __init__(self, q: Query, path: Path):
        self.q = q
        self.path = path

    def __call__(
        self,
        filter: FilterLike = None,
        *,
        model: str,
        template: str = "rubric",
        base_url: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        **options,
    ):
        from . import runner

        flt = as_filter(filter)
        endpoint, spec, call = self.setup(model, template, base_url, api_key, options)
        return runner.judge(self.q, flt, endpoint, spec, call, name=name)

    def probe(
        self,
        filter: FilterLike = None,
        *,
        model: str,
        probes: str | list[str] = "all",
        template: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
        **options,
    ):
        """Bias probes: re-judge the judgments `filter` selects with `model` (the baseline) and controlled
        variants of them (swap, verbosity, authority, bandwagon, reflection, one-token), stored with `probe`
        and `parent_judgment_id`. The template defaults to `pairwise` for pairwise judgments, else `rubric`."""
        from . import runner
        from .probes import parse_probes

        flt = as_filter(filter)
        if template is None:
            where, params = flt.where("j")
            protos = [
                r[0]
                for r in self.q.rows(
                    f"SELECT protocol, count(*) FROM judgment_view j WHERE {where} AND probe IS NULL "
                    f"GROUP BY 1 ORDER BY 2 DESC, 1",
                    params,
                )
            ]
            template = "pairwise" if protos[:1] == ["pairwise"] else "rubric"
        bad = sorted(
            set(options) & {"criteria", "per_criterion", "both_orders", "pairs", "baseline", "reference", "samples"}
        )
        if bad:
            raise UserError(f"probe: option(s) {', '.join(bad)} do not apply (a probe re-judges existing judgments)")
        endpoint, spec, call = self.setup(model, template, base_url, api_key, options)
        return runner.probe(self.q, flt, endpoint, spec, call, parse_probes(probes), name=name)

    def setup(self, model: str, template: str, base_url: str | None, api_key: str | None, options: dict):
        """(Endpoint, JudgeSpec, CallOptions) from keyword options, each checked by its dataclass."""
        from .client import Endpoint
        from .runner import JudgeSpec
        from .client import CallOptions
        from .templates import load_template

        if self.q.read_only:
            raise UserError(f"judging writes to the workspace; {self.path} is open read-only")
        spec_names = {f.name for f in spec_fields()}
        call_names = {f.name for f in call_fields()}
        bad = sorted(set(options) - spec_names - call_names)
        if bad:
            raise UserError(
                f"unknown judge option(s) {', '.join(bad)}; known: {', '.join(sorted(spec_names | call_names))}"
            )
        spec_opts = {k: v for k, v in options.items() if k in spec_names}
        criteria = spec_opts.get("criteria")
        if isinstance(criteria, str):
            criteria = [c.strip() for c in criteria.split(",") if c.strip()]
        if isinstance(criteria, (list, tuple)):
            spec_opts["criteria"] = {c: "" for c in criteria} or None
        endpoint = Endpoint(
            model=model,
            base_url=base_url or os.environ.get("OPENAI_BASE_URL"),
            api_key=api_key or os.environ.get("OPENAI_API_KEY"),
        )
        spec = JudgeSpec(load_template(template), **spec_opts)
        return endpoint, spec, CallOptions(**{k: v for k, v in options.items() if k in call_names})

    def failures(self, run_id: str | None = None) -> pl.DataFrame:
        """Requests judge runs gave up on (retried on a re-run)."""
        return self.q.frame(
            "SELECT run_id, request_hash, model, error, attempts, created_at FROM llm_failures "
            + ("WHERE run_id = ? " if run_id else "")
            + "ORDER BY created_at",
            [run_id] if run_id else None,
        )
