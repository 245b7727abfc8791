"""Dashboard state: the workspace, the Filter and page in the URL, and the sidebar that edits them.

The URL query string is the source of truth when a session starts (so a copied link reopens the
same view); after that the widgets drive it and every change is written back to the URL.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

import streamlit as st

from analysis import Filter, UserError, Workspace
from analysis.errors import WorkspaceLocked
from analysis.filters import LIST_KEYS

NON_FILTER_KEYS = ("page", "instance", "compare_a", "compare_b", "compare_by")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")
# GitHub-style autolinks ("http://…", "www.…", "a@b.c") are found in the text after escapes are undone, so
# a backslash does not stop them: a word joiner (U+2060, invisible) after "://", "www" and "@" does
_AUTOLINK = re.compile(r"(://|www(?=\.)|@)", re.IGNORECASE)


def md_escape(text: str) -> str:
    """Text that Streamlit's markdown shows literally (no links, autolinks, images, HTML, entities or formatting)."""
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub("\\1\u2060", str(text)))


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Workspace:
    return Workspace(path, read_only=True)


@st.cache_data(show_spinner=False, max_entries=32)
def cached_audit(path: str, version: tuple, query: str, by: str):
    """The audit of a filter, computed once per workspace state (`version`), filter and grouping."""
    return _open(path).audit(query, by=by)


def workspace_path() -> str:
    return os.environ.get("JUDGESCOPE_WORKSPACE", "judgescope.duckdb")


def workspace() -> Workspace:
    """The workspace, opened read-only; while another process writes to it, say so and try again shortly."""
    path = workspace_path()
    try:
        ws = _open(path)
        ws.q.version()  # reopens the file if a lease closed it; a writer's lock shows here
        return ws
    except WorkspaceLocked as exc:
        st.info(md_escape(f"{exc}. This page reloads by itself when the workspace is free."), icon="⏳")
        time.sleep(3)
        st.rerun()
    except UserError as exc:
        st.error(md_escape(str(exc)))
        if st.button("Retry"):
            st.cache_resource.clear()
            st.rerun()
        st.stop()


@dataclass
class View:
    page: str
    filter: Filter
    warnings: list[str]
    instance: str | None = None
    compare: tuple[str | None, str | None, str] = (None, None, "model")


def set_instance(judgment_id: str | None) -> None:
    st.session_state["js_instance"] = judgment_id


def set_compare(a: str | None, b: str | None, by: str) -> None:
    st.session_state["js_compare"] = (a, b, by)


def _url_pairs() -> list[tuple[str, str]]:
    return [(k, v) for k in st.query_params.keys() for v in st.query_params.get_all(k)]


def read_url(pages: list[str]) -> View:
    pairs = _url_pairs()
    flt, warnings = Filter.from_pairs(pairs, strict=False, ignore=NON_FILTER_KEYS)
    page = st.query_params.get("page", pages[0])
    if page not in pages:
        warnings.append(f"unknown page {page!r}; showing {pages[0]}")
        page = pages[0]
    by = st.query_params.get("compare_by", "model")
    if by not in ("model", "judge"):
        warnings.append(f"compare_by must be model or judge, not {by!r}")
        by = "model"
    return View(page, flt, warnings, st.query_params.get("instance"),
                (st.query_params.get("compare_a"), st.query_params.get("compare_b"), by))


def write_url(view: View) -> None:
    params = {"page": view.page, **view.filter.to_dict()}
    if view.instance:
        params["instance"] = view.instance
    a, b, by = view.compare
    if a and b:
        params.update({"compare_a": a, "compare_b": b, "compare_by": by})
    current = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    wanted = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    if current != wanted:
        st.query_params.from_dict(params)


def _known(ws: Workspace, field: str, chosen: tuple[str, ...], warnings: list[str]) -> list[str]:
    options = ws.values(field)
    unknown = [v for v in chosen if v not in options]
    for v in unknown:
        warnings.append(f"{field} {v!r} is not in this workspace; ignored")
    return [v for v in chosen if v in options]


def sidebar(ws: Workspace, pages: dict[str, str], view: View) -> View:
    """Draw the page picker and filters; return the view they select."""
    first = "js_init" not in st.session_state
    warnings = list(view.warnings)
    if first:
        st.session_state["js_init"] = True
        st.session_state["js_page"] = view.page
        for field in ("model", "judge", "dataset", "template", "criterion"):
            st.session_state[f"js_{field}"] = _known(ws, field, getattr(view.filter, field), warnings)
        st.session_state["js_q"] = view.filter.q or ""
        st.session_state["js_score_min"] = view.filter.score_min
        st.session_state["js_score_max"] = view.filter.score_max
        st.session_state["js_meta"] = view.filter.meta
        st.session_state["js_extra"] = {k: getattr(view.filter, k) for k in ("run", "protocol", "status", "category", "issue",
                                                                             "issue_all", "issue_none", "issue_only", "issue_set",
                                                                             "label", "probe")}
        st.session_state["js_warnings"] = warnings
        st.session_state["js_instance"] = view.instance
        st.session_state["js_compare"] = view.compare
    with st.sidebar:
        st.title("judgescope")
        page = st.radio("Page", list(pages), format_func=lambda p: pages[p], key="js_page")
        st.subheader("Filters")
        st.multiselect("Judges", ws.values("judge"), key="js_judge")
        st.multiselect("Models", ws.values("model"), key="js_model")
        st.multiselect("Datasets", ws.values("dataset"), key="js_dataset")
        st.multiselect("Templates / strategies", ws.values("template"), key="js_template")
        st.multiselect("Criteria", ws.values("criterion"), key="js_criterion")
        c1, c2 = st.columns(2)
        c1.number_input("Score ≥", value=None, key="js_score_min", step=1.0)
        c2.number_input("Score ≤", value=None, key="js_score_max", step=1.0)
        st.text_input("Search critiques, prompts, responses", key="js_q")
        extra = st.session_state.setdefault("js_extra", {})
        runs = ws.values("run")
        picked_runs = st.multiselect("Runs (imports)", runs, default=[r for r in extra.get("run", ()) if r in runs],
                                     key="js_runs_widget")
        extra["run"] = tuple(picked_runs)
        label = st.selectbox("Human or gold label", ["", "any", "none", "disagree"],
                             index=["", "any", "none", "disagree"].index(extra.get("label") or ""),
                             format_func=lambda v: {"": "(no condition)", "any": "has a label", "none": "has no label",
                                                    "disagree": "a label disagrees with the judge"}[v],
                             key="js_label_widget")
        extra["label"] = label or None
        probes = ws.values("probe")
        if probes or extra.get("probe"):
            options = ["any", *probes]
            picked = st.multiselect("Bias-probe variants (left out unless chosen)", options,
                                    default=[p for p in extra.get("probe", ()) if p in options], key="js_probe_widget")
            extra["probe"] = tuple(picked)
        _issue_widget(ws)
        _meta_widget(ws)
    lo, hi = st.session_state.get("js_score_min"), st.session_state.get("js_score_max")
    if lo is not None and hi is not None and lo > hi:
        warnings.append("score minimum is above the maximum; score range ignored")
        lo = hi = None
    values = {f: tuple(st.session_state.get(f"js_{f}") or ()) for f in ("model", "judge", "dataset", "template", "criterion")}
    flt = Filter(**values, **st.session_state.get("js_extra", {}), score_min=lo, score_max=hi,
                 q=(st.session_state.get("js_q") or None), meta=tuple(st.session_state.get("js_meta") or ()))
    return View(page, flt, st.session_state.get("js_warnings", []) + [w for w in warnings if w not in
                                                                     st.session_state.get("js_warnings", [])],
                st.session_state.get("js_instance"), st.session_state.get("js_compare", (None, None, "model")))


def share_link(view: View) -> None:
    """The link to this exact view, with a copy button (st.code has one)."""
    from urllib.parse import urlencode

    params = [(k, v) for k in st.query_params.keys() for v in st.query_params.get_all(k)]
    host = ""
    try:
        host = st.context.headers.get("Host", "")
    except Exception:  # outside a browser session (tests)
        pass
    base = f"http://{host}/" if host else "/"
    with st.sidebar:
        st.caption("Link to this view")
        st.code(base + "?" + urlencode(params), language=None, wrap_lines=True)


ISSUE_MODES = {"issue": "has any of", "issue_all": "has all of", "issue_none": "has none of",
               "issue_only": "has only these"}


def _issue_widget(ws: Workspace) -> None:
    """Issue conditions of the chosen (or newest) issue set: any / all / none / only these."""
    extra = st.session_state.setdefault("js_extra", {})
    sets = ws.issue_sets()
    if sets.height == 0:
        return
    set_id = extra.get("issue_set") if extra.get("issue_set") in sets["issue_set_id"].to_list() else sets["issue_set_id"][0]
    table = ws.issue_set(set_id).table()
    titles = dict(zip(table["issue_id"], table["title"]))
    if "js_issue_mode" not in st.session_state:  # first run: from the link
        mode0, ids0 = next(((k, extra.get(k)) for k in ISSUE_MODES if extra.get(k)), ("issue", ()))
        st.session_state["js_issue_mode"] = mode0
        st.session_state["js_issue_ids"] = [i for i in ids0 if i in titles]
    st.session_state["js_issue_ids"] = [i for i in st.session_state["js_issue_ids"] if i in titles]
    n = len(st.session_state["js_issue_ids"])
    with st.expander("Issues" + (f" ({n})" if n else "")):
        mode = st.radio("Judgments that", list(ISSUE_MODES), format_func=ISSUE_MODES.get, key="js_issue_mode")
        chosen = st.multiselect("Issues", list(titles), format_func=lambda i: f"{i}. {titles[i][:50]}",
                                key="js_issue_ids")
    for k in ISSUE_MODES:
        extra[k] = tuple(chosen) if k == mode else ()


def _meta_widget(ws: Workspace) -> None:
    """Metadata facets: pick a facet, then its values; facets from a link show up here too."""
    meta = dict(st.session_state.get("js_meta") or ())
    with st.expander("Metadata facets" + (f" ({len(meta)})" if meta else "")):
        keys = ws.meta_keys()
        key = st.selectbox("Facet", [""] + keys, format_func=lambda k: k or "(choose a facet)", key="js_meta_key")
        if key:
            options = ws.meta_values(key)
            chosen = st.multiselect(md_escape(f"{key} is any of"), options, default=[v for v in meta.get(key, ()) if v in options],
                                    key=f"js_meta_values_{key}")
            if chosen:
                meta[key] = tuple(chosen)
            else:
                meta.pop(key, None)
        for k, v in meta.items():
            st.caption(md_escape(f"{k} = {', '.join(v)}"))
        if meta and st.button("Clear metadata filters"):
            meta = {}
    st.session_state["js_meta"] = tuple(sorted(meta.items()))


def show_warnings(view: View) -> None:
    for w in view.warnings:
        st.warning(md_escape(w), icon="⚠️")


__all__ = ["LIST_KEYS", "View", "md_escape", "read_url", "sidebar", "show_warnings", "workspace", "write_url"]
