"""Dashboard state in one place: the selection (one Filter) and the view's own parameters, their mapping to the
sidebar's widgets (derived from the Filter's fields) and to the URL (the share format), the workspace, links
that open evidence, and cached calls keyed by the workspace's state and the selection.

The URL is read when a session starts and whenever it changes from outside (a link, a click that opens
evidence, the browser's back button); otherwise the widgets drive the selection and every run writes it back
to the URL, so a copied link reopens the same view. Moving between pages keeps the selection.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import streamlit as st

from analysis import Filter, UserError, Workspace
from analysis.store import workspace_path as _workspace_path
from analysis.errors import WorkspaceLocked
from analysis.query import read_limit
from analysis.filters import CHOICES, ISSUE_KEYS, LIST_KEYS, unknown_values

# view parameters that ride in the URL beside the filter (per page; see each view)
VIEW_KEYS = (
    "instance",
    "compare_a",
    "compare_b",
    "compare_by",
    "view",
    "sort",
    "desc",
    "offset",
    "kind",
    "by",
    "audit_by",
    "metric",
)
# the sidebar's multiselects: Filter field -> label (the other fields have their own widgets or show as chips)
LIST_WIDGETS = {
    "judge": "Judges",
    "model": "Models",
    "dataset": "Datasets",
    "template": "Templates / strategies",
    "criterion": "Criteria",
    "run": "Runs (imports)",
}
CHIP_FIELDS = tuple(k for k in LIST_KEYS if k not in LIST_WIDGETS and not k.startswith("issue") and k != "probe")
PAGES: dict[str, st.Page] = {}  # filled by app.py: name -> page

T = TypeVar("T")

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])")
_AUTOLINK = re.compile(r"(://|www|@)", re.I)


def md_escape(text: object) -> str:
    """Text that Streamlit's markdown shows literally: no link, image, HTML, formatting, and no auto-linked URL
    or address (a word joiner after ://, www and @ keeps the linkifier off; it is invisible)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    return _AUTOLINK.sub(lambda m: m.group(1) + "\u2060", escaped)


# ---- the workspace -----------------------------------------------------------------------------------
def workspace_path() -> str:
    return str(_workspace_path())


# a page's reads are stopped past this many seconds with a line saying what to narrow (JUDGESCOPE_QUERY_SECONDS)
QUERY_SECONDS = 30.0


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Workspace:
    return Workspace(path, read_only=True)


def workspace(run_start: bool = False) -> Workspace:
    """The workspace, read-only; while another process writes to it, say so and try again shortly. At a run's
    start (app.py), its state is read (version()) and kept for the run: every cached read of one run is keyed to
    the same state, and the run does not ask again for each (a query each, tenths of a second per run)."""
    try:
        ws = _open(workspace_path())
        ws.q.time_limit = read_limit(QUERY_SECONDS)
        if run_start or "js_version" not in st.session_state:
            # reopens the file if a lease closed it; a writer's lock shows here
            st.session_state["js_version"] = ws.q.version()
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


def cached(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(ws, *args, **kwargs), computed once per workspace state and arguments. A Filter argument is passed on
    as its query string (every analysis call takes one), so equal selections share a result."""
    workspace()  # the time limit set, and the state read if this run has not yet
    plain = tuple(a.to_query() if isinstance(a, Filter) else a for a in args)
    named = tuple(sorted((k, v.to_query() if isinstance(v, Filter) else v) for k, v in kwargs.items()))
    # what the page waits for, said while it waits (Streamlit shows a spinner only after half a second)
    with st.spinner(f"Computing {fn.__name__.strip('_').replace('_', ' ')} for this selection…", show_time=True):
        return _cached_call(workspace_path(), run_version(), fn.__module__ + "." + fn.__qualname__, plain, named, fn)


def run_version() -> tuple:
    """The workspace's state as this run's start read it (workspace(run_start=True))."""
    if "js_version" not in st.session_state:
        workspace()
    return st.session_state["js_version"]


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_call(
    path: str,
    version: tuple,
    name: str,
    args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
    _fn: Callable[..., T],
) -> T:
    return _fn(_open(path), *args, **dict(kwargs))


# ---- the selection -----------------------------------------------------------------------------------
def _url_pairs() -> list[tuple[str, str]]:
    return [(k, v) for k in st.query_params.keys() for v in st.query_params.get_all(k)]


def _known_values(ws: Workspace, flt: Filter, warnings: list[str]) -> Filter:
    """A link's filter, each sidebar value checked against the workspace (an unknown one is dropped, with a
    warning), the issue set pinned to one that exists."""
    unknown = unknown_values(flt, lambda field: values(ws, field), LIST_WIDGETS)
    warnings += [f"{field} {v!r} is not in this workspace; ignored" for field, v in unknown]
    # Filter field -> its new value (each of that field's type)
    changes: dict[str, Any] = {
        field: tuple(v for v in getattr(flt, field) if (field, v) not in unknown) for field in {f for f, _ in unknown}
    }
    if flt.issue_set is not None:
        sets = set(ws.issues.sets()["issue_set_id"])
        if flt.issue_set not in sets:
            warnings.append(f"issue set {flt.issue_set!r} is not in this workspace; showing the newest")
            changes["issue_set"] = None
    return dataclasses.replace(flt, **changes) if changes else flt


def begin(ws: Workspace) -> None:
    """At the top of every run: take the selection from the URL when the URL changed from outside."""
    pairs = _url_pairs()
    last = st.session_state.get("js_written")
    fresh = "js_filter" not in st.session_state
    moved_here = bool(pairs) and pairs != last and not (last is not None and {k for k, _ in pairs} <= {"page"})
    if fresh or moved_here:
        flt, warnings = Filter.from_pairs(pairs, strict=False, ignore=VIEW_KEYS + ("page",))
        st.session_state["js_filter"] = _known_values(ws, flt, warnings)
        st.session_state["js_view"] = {k: st.query_params.get(k) for k in VIEW_KEYS if k in st.query_params}
        st.session_state["js_warnings"] = warnings
        _load_widgets(st.session_state["js_filter"])


def _load_widgets(flt: Filter) -> None:
    """The sidebar's widget state from a Filter (one place: the widgets are named after its fields)."""
    for field in LIST_WIDGETS:
        st.session_state[f"w_{field}"] = list(getattr(flt, field))
    st.session_state["w_score_min"] = flt.score_min
    st.session_state["w_score_max"] = flt.score_max
    st.session_state["w_q"] = flt.q or ""
    st.session_state["w_label"] = flt.label or ""
    st.session_state["w_probe"] = list(flt.probe)
    mode, ids = next(
        ((k, getattr(flt, k)) for k in ("issue", "issue_all", "issue_none", "issue_only") if getattr(flt, k)),
        ("issue", ()),
    )
    st.session_state["w_issue_mode"] = mode
    st.session_state["w_issue_ids"] = list(ids)


def selection() -> Filter:
    return st.session_state.get("js_filter") or Filter()


def set_selection(flt: Filter) -> None:
    st.session_state["js_filter"] = flt


def from_widget(field: str) -> None:
    """A widget's on_change: its value into the selection (validated by Filter.make)."""
    flt = selection()
    value = st.session_state.get(f"w_{field}")
    changes: dict[str, Any] = {}  # Filter field -> its new value (each of that field's type)
    if field in LIST_WIDGETS or field == "probe":
        changes[field] = tuple(value or ())
    elif field in ("score_min", "score_max"):
        changes[field] = value
    elif field == "q":
        changes["q"] = (value or "").strip() or None
    elif field == "label":
        changes["label"] = value or None
    elif field in ("issue_mode", "issue_ids"):
        mode = st.session_state.get("w_issue_mode", "issue")
        changes.update(issue=(), issue_all=(), issue_none=(), issue_only=())
        changes[mode] = tuple(st.session_state.get("w_issue_ids") or ())
    set_selection(dataclasses.replace(flt, **changes))


def drop_condition(field: str, value: str | None = None) -> None:
    """A chip's ✕: take one condition out of the selection."""
    flt = selection()
    changes: dict[str, Any] = {}  # Filter field -> its new value (each of that field's type)
    if field == "meta":
        changes["meta"] = tuple((k, v) for k, v in flt.meta if k != value)
    elif isinstance(getattr(flt, field), tuple):
        changes[field] = tuple(v for v in getattr(flt, field) if v != value)
    else:
        changes[field] = None
    flt = dataclasses.replace(flt, **changes)
    set_selection(flt)
    _load_widgets(flt)


def clear_selection() -> None:
    set_selection(Filter())
    st.session_state["js_view"] = {}
    _load_widgets(Filter())


def view(key: str, default: Any = None) -> Any:
    """A view parameter: the URL's text or what set_view stored (Any: each page reads its own kind of value)."""
    return (st.session_state.get("js_view") or {}).get(key, default)


def set_view(**kw: str | None) -> None:
    v = dict(st.session_state.get("js_view") or {})
    for k, value in kw.items():
        if value is None:
            v.pop(k, None)
        else:
            v[k] = value
    st.session_state["js_view"] = v


def warnings() -> list[str]:
    return list(st.session_state.get("js_warnings") or [])


def end(page_key: str) -> None:
    """At the end of every run: the selection and view back into the URL (only when they changed). A selection
    by issues names its issue set, so the link keeps pointing at the same issues after a new discovery."""
    flt = selection()
    if not flt.issue_set and any(getattr(flt, k) for k in ISSUE_KEYS):
        newest = workspace().q.newest_issue_set()
        if newest:
            set_selection(dataclasses.replace(flt, issue_set=newest))
    params = {
        **selection().to_dict(),
        **{k: v for k, v in (st.session_state.get("js_view") or {}).items() if k in VIEW_KEYS and v not in (None, "")},
    }
    current = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    wanted = {k: v if isinstance(v, list) else [str(v)] for k, v in params.items()}
    if current != wanted:
        st.query_params.from_dict(wanted)
    st.session_state["js_written"] = [(k, v) for k, vs in wanted.items() for v in vs]


# ---- links that open evidence ------------------------------------------------------------------------
def query(flt: Filter, **view_params: object) -> dict[str, list[str]]:
    out = flt.to_dict()
    for k, v in view_params.items():
        if v is not None:
            out[k] = [str(v)]
    return out


def go(page: str, flt: Filter, **view_params: object) -> None:
    """Open `page` showing `flt` (the new selection) and the view parameters; the URL says which."""
    st.switch_page(PAGES[page], query_params=query(flt, **view_params))


def link(page: str, label: str, flt: Filter, help: str | None = None, **view_params: object) -> None:
    """A link to a page with a selection (a page_link: opens in place, keeps the session)."""
    st.page_link(PAGES[page], label=label, query_params=query(flt, **view_params), help=help)


def narrowed(**changes: Any) -> Filter:
    """The selection with some fields changed (lists replace, None clears)."""
    flt = selection()
    fields: dict[str, Any] = {}  # Filter field -> its new value (each of that field's type)
    for k, v in changes.items():
        if k == "meta":
            fields[k] = tuple(sorted({**dict(flt.meta), **v}.items()))
        elif k in LIST_KEYS:
            fields[k] = (v,) if isinstance(v, str) else tuple(v or ())
        else:
            fields[k] = v
    return dataclasses.replace(flt, **fields)


def share_url(page_path: str) -> str:
    host = ""
    try:
        host = st.context.headers.get("Host", "")
    except Exception:  # noqa: BLE001 - outside a browser session (tests)
        pass
    base = f"http://{host}/" if host else "/"
    pairs = [(k, v) for k in st.query_params.keys() for v in st.query_params.get_all(k)]
    return base + page_path + ("?" + urlencode(pairs) if pairs else "")


def copy_link(page_path: str) -> None:
    """The "Copy link" control at the top of every page: the link that reopens exactly this view (selection,
    page and view settings), written after the page ran so it never lags behind."""
    with st.popover(  # a Material icon: Streamlit ships its font (an emoji needs one the system may lack)
        "Copy link",
        icon=":material/link:",
        help="A link that reopens exactly this view: the page, the selection and the view's settings.",
    ):
        st.code(share_url(page_path), language=None, wrap_lines=True)
        st.caption("Copy it with the icon at the right of the box.")


# ---- small cached look-ups -----------------------------------------------------------------------------
def values(ws: Workspace, field: str) -> list[str]:
    """The values the sidebar offers for a field: every field's read in one scan per workspace state."""
    facets = _facets(workspace_path(), run_version())
    return facets[field] if field in facets else ws.values(field)


@st.cache_data(show_spinner=False, max_entries=8)
def _facets(path: str, version: tuple) -> dict[str, list[str]]:
    return _open(path).facets([*LIST_WIDGETS, "probe"])


def says(flt: Filter) -> str:
    """The selection in words, for a page's caption."""
    return flt.describe()


__all__ = [
    "CHOICES",
    "LIST_WIDGETS",
    "PAGES",
    "VIEW_KEYS",
    "begin",
    "cached",
    "end",
    "go",
    "link",
    "md_escape",
    "selection",
    "view",
    "workspace",
]
