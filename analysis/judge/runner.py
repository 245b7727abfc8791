"""A judge run: select what to judge, render requests, get replies (cached or called), parse them and write
judgments into the same tables imports fill, so every analysis and the dashboard work on them unchanged.

Ids are deterministic: a run's id hashes its endpoint, model, template, selection and options; a judgment's id
hashes its request and criterion. Re-running a command (after a crash, a SIGKILL or a budget stop) therefore
finds the replies it already has in the cache and adds each missing judgment exactly once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import UserError
from ..filters import Filter
from ..records import RunRecord, insert_judgments, judgment_frame, write_run
from ..store import transaction
from . import probes as pr
from . import targets
from .client import (
    CallOptions,
    Caller,
    CallStats,
    Endpoint,
    Request,
    _choices,
    check_choice,
    check_number,
    make_request,
    option,
)
from .parse import Parsed, expected_score, parse_criteria, parse_score, parse_verdict
from .templates import ONE_SCORE, PER_CRITERION, Template

MAX_LIMIT = 10**9  # the largest limit (SQL's LIMIT overflows far above; no workspace is near)
MAX_SAMPLES = 1000  # the largest samples: the requests of a run are planned in memory
OVERALL = ("overall quality", "How well the answer serves the user: correct, helpful, complete, relevant and clear.")


@dataclass
class JudgeSpec:
    template: Template
    criteria: dict[str, str] | None = option(
        None, "rubric criteria, comma-separated (descriptions from imported rubrics)"
    )
    per_criterion: bool = option(False, "one call per criterion instead of one for all")
    both_orders: bool = option(True, "pairwise: judge every pair in both orders")
    pairs: str = option(
        "auto",
        "pairwise: which pairs (auto: the baseline if given, else pairs already judged, else all)",
        ("auto", "existing", "baseline", "all"),
    )
    baseline: str | None = option(None, "pairwise: compare every selected response with this model's")
    reference: str = option(
        "auto", "show reference answers when the item has one (auto) or never (off)", ("auto", "off")
    )
    samples: int = option(1, "judge each request this many times (the sample index is in the cache key)")
    judge_name: str | None = option(None, "store the judgments under this judge name (default: the model)")
    limit: int | None = option(None, "at most this many responses, pairs or judgments")

    def __post_init__(self):
        check_choice("pairs", self.pairs, _choices(JudgeSpec, "pairs"))
        check_choice("reference", self.reference, _choices(JudgeSpec, "reference"))
        check_number(self, "samples", 1, MAX_SAMPLES, integer=True)
        if self.limit is not None:  # 0 would select everything (no LIMIT): refused like -1
            check_number(self, "limit", 1, MAX_LIMIT, integer=True)


@dataclass
class Unit:
    request: Request
    kind: str  # pointwise | criteria | pairwise
    stubs: list[dict]  # judgment rows before the reply (one per criterion)
    scale: tuple[float, float] = (1, 10)


@dataclass
class JudgeResult:
    run_id: str
    planned: int
    written: int
    already_present: int
    stats: CallStats
    by_status: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        s = self.stats
        return (
            f"JudgeResult(run {self.run_id}: {self.written} judgments written, {self.already_present} already "
            f"present, {s.called} called, {s.cached} cached, {s.failed} failed, {s.retries} retries, "
            f"tokens {s.tokens_in}+{s.tokens_out}, ${s.cost:.4f}"
            + (f", stopped: {s.stopped}" if s.stopped else "")
            + ")"
        )

    def summary(self) -> dict[str, Any]:
        s = self.stats
        return {
            "run_id": self.run_id,
            "requests": self.planned,
            "judgments_written": self.written,
            "judgments_already_present": self.already_present,
            "called": s.called,
            "cached": s.cached,
            "failed": s.failed,
            "retries": s.retries,
            "skipped_budget": s.skipped_budget,
            "tokens_in": s.tokens_in,
            "tokens_out": s.tokens_out,
            "cost_usd": round(s.cost, 6),
            "seconds": round(s.seconds, 2),
            "stopped": s.stopped,
            "errors": s.errors,
            "parse_status": self.by_status,
            "skipped": self.skipped,
        }


# ---- requests --------------------------------------------------------------------------------------
def _judgment_id(key: str, criterion: str | None, probe: str | None = None) -> str:
    """A probe's variant can repeat a plain request (swap = the other order): the probe keeps them apart."""
    return hashlib.md5(f"judge|{key}|{criterion or ''}|{probe or ''}".encode()).hexdigest()


def _levels_text(levels: dict) -> str:
    return "\n".join(f"Score {k}: {v}" for k, v in sorted(levels.items(), key=lambda kv: float(kv[0])))


class Planner:
    """Renders units for one endpoint, template and options."""

    def __init__(self, con, endpoint: Endpoint, opts: CallOptions, spec: JudgeSpec):
        self.con, self.endpoint, self.opts, self.spec = con, endpoint, opts, spec
        t = spec.template
        self.judge = spec.judge_name or endpoint.model
        names = list(spec.criteria or [])
        info = targets.criteria_info(con, names)
        self.criteria = {
            n: ((spec.criteria or {}).get(n) or info.get(n, ("", {}))[0], info.get(n, ("", {}))[1]) for n in names
        }
        # a template without {criteria_list} and {output_format} (prometheus) scores one criterion per call
        self.per_criterion = spec.per_criterion or not {"output_format", "criteria_list"} <= t.fields()

    def _ref(self, reference: str | None) -> str | None:
        return reference if self.spec.reference != "off" and reference else None

    def _base(self, row: dict, protocol: str, criterion: str | None, sample: int) -> dict:
        t = self.spec.template
        return {
            "item_id": row["item_id"],
            "judge": self.judge,
            "protocol": protocol,
            "criterion": criterion,
            "template": t.name,
            "sample": sample,
            "probe": None,
            "parent_judgment_id": None,
            "dataset": row.get("dataset"),
            "category": row.get("category"),
            "meta": {},
            "scale_min": float(t.scale[0]) if protocol == "pointwise" else None,
            "scale_max": float(t.scale[1]) if protocol == "pointwise" else None,
        }

    def pointwise(
        self,
        row: dict,
        text: str | None = None,
        criterion: str | None = None,
        sample: int = 0,
        all_criteria: bool = False,
        extra: str = "",
    ) -> Unit:
        """One request about one response (`text` overrides its text, for probes)."""
        t = self.spec.template
        lo, hi = (str(int(x)) if float(x).is_integer() else str(x) for x in t.scale)
        names = list(self.criteria) if all_criteria else ([criterion] if criterion else [])
        if len(names) > 1:
            clist = "Criteria (score each):\n" + "".join(f"- {n}: {self.criteria[n][0]}\n" for n in names) + "\n"
            fmt = PER_CRITERION
            cname, cdesc, levels = "", "", {}
        else:
            cname = names[0] if names else OVERALL[0]
            cdesc = self.criteria.get(cname, ("", {}))[0] if names else OVERALL[1]
            levels = self.criteria.get(cname, ("", {}))[1] if names else {}
            clist = f"Criterion: {cname}: {cdesc}\n\n" if cdesc else f"Criterion: {cname}\n\n"
            fmt = ONE_SCORE
        values: dict[str, Any] = {
            "prompt": row.get("prompt") or "",
            "response": row["text"] if text is None else text,
            "reference": self._ref(row.get("reference")),
            "criterion": cname,
            "criterion_description": cdesc,
            "rubric": _levels_text(levels or t.levels),
            "criteria_list": clist,
            "output_format": fmt.replace("{lo}", lo).replace("{hi}", hi),
        }
        messages = t.render(values)
        if extra:
            messages[-1]["content"] += extra
        req = make_request(self.endpoint, self.opts, messages, sample)
        stubs = []
        for n in names if names else [None]:
            s = self._base(row, "pointwise", n, sample)
            s.update(
                response_id=row["response_id"],
                model=row.get("model"),
                n_chars=len(values["response"]),
                response_a=None,
                response_b=None,
                shown_first=None,
                model_a=None,
                model_b=None,
                n_chars_a=None,
                n_chars_b=None,
            )
            s["judgment_id"] = _judgment_id(req.key, n)
            stubs.append(s)
        return Unit(req, "criteria" if len(names) > 1 else "pointwise", stubs, t.scale)

    def pairwise(
        self,
        row: dict,
        shown_first: str,
        criterion: str | None = None,
        sample: int = 0,
        texts: dict[str, str] | None = None,
        extra: str = "",
    ) -> Unit:
        """One request about a pair, `shown_first` ('a' or 'b') shown as Assistant A."""
        t = self.spec.template
        text = {"a": row["text_a"], "b": row["text_b"], **(texts or {})}
        first, second = ("a", "b") if shown_first == "a" else ("b", "a")
        cdesc = self.criteria.get(criterion, ("", {}))[0] if criterion else ""
        values: dict[str, Any] = {
            "prompt": row.get("prompt") or "",
            "response_a": text[first],
            "response_b": text[second],
            "reference": self._ref(row.get("reference")),
            "criterion": criterion or OVERALL[0],
            "criterion_description": cdesc or ("" if criterion else OVERALL[1]),
            "criteria_list": f"Compare the answers on this criterion only: {criterion}"
            f"{': ' + cdesc if cdesc else ''}\n\n"
            if criterion
            else "",
        }
        messages = t.render(values)
        if extra:
            messages[-1]["content"] += extra
        req = make_request(self.endpoint, self.opts, messages, sample)
        s = self._base(row, "pairwise", criterion, sample)
        s.update(
            response_id=None,
            model=None,
            n_chars=None,
            response_a=row["response_a"],
            response_b=row["response_b"],
            shown_first=shown_first,
            model_a=row.get("model_a"),
            model_b=row.get("model_b"),
            n_chars_a=len(text["a"]),
            n_chars_b=len(text["b"]),
            judgment_id=_judgment_id(req.key, criterion),
        )
        return Unit(req, "pairwise", [s])

    def units(self, flt: Filter) -> list[Unit]:
        spec, t = self.spec, self.spec.template
        out: list[Unit] = []
        samples = range(max(1, spec.samples))
        names = list(self.criteria)
        if t.protocol == "pointwise":
            frame = targets.responses(self.con, flt, spec.limit)
            for row in frame.iter_rows(named=True):
                for k in samples:
                    if len(names) > 1 and not self.per_criterion:
                        out.append(self.pointwise(row, sample=k, all_criteria=True))
                    else:
                        out += [self.pointwise(row, criterion=c, sample=k) for c in (names if names else [None])]
        else:
            frame = targets.pairs(self.con, flt, spec.pairs, spec.baseline, spec.limit)
            orders = ("a", "b") if spec.both_orders else ("a",)
            for row in frame.iter_rows(named=True):
                for k in samples:
                    for c in names if names else [None]:
                        out += [self.pairwise(row, o, c, k) for o in orders]
        return out


# ---- replies -> judgments ----------------------------------------------------------------------------
def _fill(unit: Unit, reply: dict) -> list[dict]:
    content = reply.get("content")
    rows = []
    meta_common = {
        "request_hash": unit.request.key,
        "attempts": reply.get("attempts"),
        "finish_reason": reply.get("finish_reason"),
    }
    if unit.kind == "pairwise":
        p = parse_verdict(content)
        s = dict(unit.stubs[0])
        first = s["shown_first"]
        verdicts: dict[str | None, str] = {"first": first, "second": "b" if first == "a" else "a", "tie": "tie"}
        s["verdict"] = verdicts.get(p.verdict)
        s["score"] = None
        _common(s, p, content, meta_common)
        if p.strength is not None:
            s["meta"]["strength"] = p.strength
        rows.append(s)
    elif unit.kind == "criteria":
        parsed = parse_criteria(content, [s["criterion"] for s in unit.stubs], unit.scale)
        for stub in unit.stubs:
            p = parsed.criteria[stub["criterion"]]
            s = dict(stub)
            s["verdict"], s["score"] = None, p.score
            _common(s, p, content, meta_common)
            rows.append(s)
    else:
        p = parse_score(content, unit.scale)
        s = dict(unit.stubs[0])
        s["verdict"], s["score"] = None, p.score
        _common(s, p, content, meta_common)
        if p.status == "ok":
            exp, probs = expected_score(reply.get("logprobs"), p.span, unit.scale)
            if exp is not None:
                s["meta"].update(score_expected=round(exp, 4), score_probs=probs)
        rows.append(s)
    return rows


def _common(s: dict, p: Parsed, content: str | None, meta: dict) -> None:
    s["meta"] = {**s["meta"], **{k: v for k, v in meta.items() if v is not None}}
    s["parse_status"] = p.status
    s["critique"] = p.critique
    s["raw_output"] = content
    if p.how:
        s["meta"]["parsed_from"] = p.how
    if p.reason:
        s["meta"]["unparsed_reason"] = p.reason


def write_judgments(con, run_id: str, rows: list[dict]) -> tuple[int, int]:
    """Insert judgments not present yet (by id) through the one judgment writer; returns (written, present)."""
    if not rows:
        return 0, 0
    frame = judgment_frame(
        [{**r, "run_id": run_id, "source_key": r["meta"].get("request_hash", ""), "source_line": None} for r in rows]
    )
    with transaction(con) as cur:
        cur.register("new_judgments", frame.to_arrow())
        written = insert_judgments(cur, "SELECT * FROM new_judgments")
        cur.unregister("new_judgments")
    return written, len(rows) - written


def run_id_for(
    endpoint: Endpoint, opts: CallOptions, spec: JudgeSpec, flt: Filter, kind: str, extra: Any = None
) -> str:
    key = json.dumps(
        {
            "kind": kind,
            "endpoint": endpoint.label(),
            "model": endpoint.model,
            "judge": spec.judge_name,
            "template": [spec.template.name, spec.template.system, spec.template.user, list(spec.template.scale)],
            "criteria": spec.criteria,
            "per_criterion": spec.per_criterion,
            "both_orders": spec.both_orders,
            "pairs": spec.pairs,
            "baseline": spec.baseline,
            "reference": spec.reference,
            "samples": spec.samples,
            "limit": spec.limit,
            "filter": flt.to_query(),
            "params": opts.logical_params(),
            "extra": extra,
        },
        sort_keys=True,
        default=str,
    )
    return "judge-" + hashlib.md5(key.encode()).hexdigest()[:12]


def _record_run(
    con, run_id: str, name: str, endpoint: Endpoint, planned: int, written: int, present: int, failed: int, params: dict
) -> None:
    """One runs row per judge run; a re-run (resume) adds to its judgments and keeps its first created_at."""
    with transaction(con) as cur:
        old = cur.execute("SELECT n_ingested FROM runs WHERE run_id = ?", [run_id]).fetchall()
        write_run(
            cur,
            RunRecord(
                run_id,
                name,
                "judge",
                endpoint.label(),
                None,
                planned,
                (old[0][0] if old else 0) + written,
                present,
                failed,
                params,
            ),
        )


def execute(con, units: list[Unit], caller: Caller) -> tuple[list[dict], dict[str, int]]:
    """Replies for every unit (cache first), parsed into judgment rows; the count per parse status."""
    replies = caller.run([u.request for u in units])
    rows: list[dict] = []
    status: dict[str, int] = {}
    for u in units:
        reply = replies.get(u.request.key)
        if reply is None:
            continue
        for r in _fill(u, reply):
            status[r["parse_status"]] = status.get(r["parse_status"], 0) + 1
            rows.append(r)
    return rows, status


def judge(
    q, flt: Filter, endpoint: Endpoint, spec: JudgeSpec, opts: CallOptions, name: str | None = None
) -> JudgeResult:
    con = q.con
    run_id = run_id_for(endpoint, opts, spec, flt, "judge")
    caller = Caller(q, endpoint, opts, run_id)  # lets go of the file while it waits
    units = Planner(con, endpoint, opts, spec).units(flt)
    if not units:
        raise UserError(
            f"nothing to judge: no {'response' if spec.template.protocol == 'pointwise' else 'pair'} "
            f"matches {flt.describe()}"
        )
    rows, status = execute(con, units, caller)
    written, present = write_judgments(q.con, run_id, rows)  # reopened: the caller let go of it
    result = JudgeResult(run_id, len({u.request.key for u in units}), written, present, caller.stats, status)
    _record_run(
        q.con,
        run_id,
        name or f"judge {endpoint.model} / {spec.template.name}",
        endpoint,
        result.planned,
        written,
        present,
        caller.stats.failed,
        {"model": endpoint.model, "template": spec.template.name, "filter": flt.to_query(), **result.summary()},
    )
    return result


# ---- probes -----------------------------------------------------------------------------------------
def probe(
    q, flt: Filter, endpoint: Endpoint, spec: JudgeSpec, opts: CallOptions, names: list[str], name: str | None = None
) -> JudgeResult:
    """Judge each selected judgment's unit again with this judge (the baseline), then each probe's variant
    of it, stored with probe = the probe's name and parent_judgment_id = the baseline."""
    con = q.con
    run_id = run_id_for(endpoint, opts, spec, flt, "probe", names)
    caller = Caller(q, endpoint, opts, run_id)  # lets go of the file while it waits
    planner = Planner(con, endpoint, opts, spec)
    parents = targets.parents(con, flt, spec.limit)
    t = spec.template
    parents = parents.filter(pl.col("protocol") == t.protocol)
    if parents.height == 0:
        raise UserError(
            f"nothing to probe: no parsed {t.protocol} judgment (the template's protocol) matches {flt.describe()}"
        )
    # one baseline per distinct unit (several imported judges may have judged the same pair)
    rows_by_unit: dict[str, dict] = {}
    base_units: dict[str, Unit] = {}
    for row in parents.iter_rows(named=True):
        if t.protocol == "pointwise":
            u = planner.pointwise(row, criterion=row["criterion"])
        else:
            u = planner.pairwise(row, row["shown_first"], row["criterion"])
        base_units.setdefault(u.request.key, u)
        rows_by_unit.setdefault(u.request.key, row)
    base_rows, status = execute(con, list(base_units.values()), caller)
    baseline = {r["meta"]["request_hash"]: r for r in base_rows}
    skipped: dict[str, int] = {}
    variants: list[Unit] = []
    for key, _u in base_units.items():
        b = baseline.get(key)
        if b is None or b["parse_status"] != "ok":
            skipped["baseline unparsed or failed"] = skipped.get("baseline unparsed or failed", 0) + len(names)
            continue
        variants += _variants(planner, rows_by_unit[key], b, names, skipped)
    var_rows, var_status = execute(con, variants, caller)
    for k, v in var_status.items():
        status[k] = status.get(k, 0) + v
    written, present = write_judgments(q.con, run_id, base_rows + var_rows)
    result = JudgeResult(
        run_id,
        len(base_units) + len({u.request.key for u in variants}),
        written,
        present,
        caller.stats,
        status,
        skipped,
    )
    _record_run(
        q.con,
        run_id,
        name or f"probe {endpoint.model} / {t.name}: {','.join(names)}",
        endpoint,
        result.planned,
        written,
        present,
        caller.stats.failed,
        {"model": endpoint.model, "template": t.name, "probes": names, "filter": flt.to_query(), **result.summary()},
    )
    return result


def _variants(planner: Planner, row: dict, base: dict, names: list[str], skipped: dict[str, int]) -> list[Unit]:
    out: list[Unit] = []
    crit = row["criterion"]

    def skip(why: str) -> None:
        skipped[why] = skipped.get(why, 0) + 1

    def tag(u: Unit, probe: str, **meta) -> Unit:
        for s in u.stubs:
            s["probe"], s["parent_judgment_id"] = probe, base["judgment_id"]
            s["judgment_id"] = _judgment_id(u.request.key, s["criterion"], probe)
            s["meta"].update({k: v for k, v in meta.items() if v is not None})
        return u

    if base["protocol"] == "pointwise":
        for p in names:
            if p in pr.PAIRWISE_ONLY:
                skip(f"{p}: pairwise only")
            elif p == "one-token":
                out += [
                    tag(planner.pointwise(row, text=a, criterion=crit), p, probe_text=a) for a in pr.ONE_TOKEN_ANSWERS
                ]
            else:
                out.append(tag(planner.pointwise(row, text=pr.TRANSFORMS[p](row["text"]), criterion=crit), p))
        return out
    shown = base["shown_first"]
    gold = row.get("gold_winner")
    winner = (
        ("a" if gold == row["response_a"] else "b")
        if gold in (row["response_a"], row["response_b"])
        else (base["verdict"] if base["verdict"] in ("a", "b") else None)
    )
    other: dict[str | None, str] = {"a": "b", "b": "a"}
    weaker = other.get(winner)
    for p in names:
        if p == "swap":
            out.append(tag(planner.pairwise(row, "b" if shown == "a" else "a", crit), p))
            continue
        if weaker is None:
            skip(f"{p}: tie and no label, no weaker answer")
            continue
        text = row["text_a"] if weaker == "a" else row["text_b"]
        if p == "bandwagon":
            letter = "A" if weaker == shown else "B"
            out.append(tag(planner.pairwise(row, shown, crit, extra=pr.bandwagon_note(letter)), p, probe_target=weaker))
        elif p == "one-token":
            out += [
                tag(planner.pairwise(row, shown, crit, texts={weaker: a}), p, probe_target=weaker, probe_text=a)
                for a in pr.ONE_TOKEN_ANSWERS
            ]
        else:
            out.append(
                tag(planner.pairwise(row, shown, crit, texts={weaker: pr.TRANSFORMS[p](text)}), p, probe_target=weaker)
            )
    return out
