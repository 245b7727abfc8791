"""judgescope dashboard. Run with `judgescope dashboard` (or `streamlit run dashboard/app.py` with
JUDGESCOPE_WORKSPACE set). Each page has its own URL path; the query string is the selection (docs/filters.md)."""

from __future__ import annotations

import streamlit as st

from analysis import store
from analysis.errors import UserError
from dashboard import sidebar, state
from dashboard.views import compare, export, instances, issues, judges, overview, rubrics

PAGES = [
    ("overview", "Overview", overview.render),
    ("issues", "Issues", issues.render),
    ("instances", "Instances", instances.render),
    ("judges", "Judges", judges.render),
    ("rubrics", "Rubrics", rubrics.render),
    ("compare", "Compare", compare.render),
    ("export", "Export", export.render),
]

st.set_page_config(page_title="judgescope", page_icon="🔎", layout="wide")
# a link's label (the Overview's headlines: "Falcon: first slot wins among flipped swaps 0.62 [0.58, 0.66]") wraps
# instead of being cut with an ellipsis mid-number. Our own static style, no user text.
_WRAP_LINKS = (
    "<style>[data-testid='stPageLink-NavLink'] *{white-space:normal!important;overflow:visible!important;"
    "text-overflow:clip!important}[data-testid='stPageLink-NavLink']{height:auto!important}</style>"
)
st.html(_WRAP_LINKS)


def _page(name: str, render):
    def run() -> None:
        ws = state.workspace()
        try:
            render(ws)
        except UserError as exc:  # a query past the time limit, a bad value: one line, not a traceback
            st.error(state.md_escape(str(exc)), icon="⚠️")

    run.__name__ = name  # Streamlit names a callable page by its function
    return run


# the workspace file is open only while a page runs: between runs `judgescope ingest` may write to it
with store.lease(state.workspace_path()):
    ws = state.workspace(run_start=True)
    state.PAGES.update(
        {
            name: st.Page(_page(name, render), title=title, url_path=name, default=(name == "overview"))
            for name, title, render in PAGES
        }
    )
    old = st.query_params.get("page")  # links from before pages had paths: ?page=issues&…
    if old in state.PAGES and old != "overview":
        rest = {k: st.query_params.get_all(k) for k in st.query_params.keys() if k != "page"}
        st.switch_page(state.PAGES[old], query_params=rest)
    if old is not None and old not in state.PAGES:
        st.warning(state.md_escape(f"unknown page {old!r}; pages are {', '.join(state.PAGES)}"), icon="⚠️")
    state.begin(ws)
    nav = st.navigation(list(state.PAGES.values()), position="top")  # the filters keep the sidebar
    name = next((n for n, p in state.PAGES.items() if p.url_path == nav.url_path), "overview")
    path = "" if name == "overview" else name
    try:
        sidebar.render(ws, path)
    except UserError as exc:  # the sidebar's look-ups past the time limit: say so, the page still runs
        st.sidebar.error(state.md_escape(str(exc)), icon="⚠️")
    for w in state.warnings():
        st.warning(state.md_escape(w), icon="⚠️")
    top = st.container()  # filled last, so the link holds what this run ends with
    nav.run()
    state.end(name)
    with top:
        state.copy_link(path)
