"""judgescope dashboard. Run with `judgescope dashboard` (or `streamlit run dashboard/app.py`
with JUDGESCOPE_WORKSPACE set)."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.views import compare, export, instances, issues, judges, overview, rubrics

PAGES = {"overview": "Overview", "issues": "Issues", "instances": "Instances", "judges": "Judges",
         "rubrics": "Rubrics", "compare": "Compare", "export": "Export"}
RENDER = {"overview": lambda ws, v: overview.render(ws, v.filter), "issues": lambda ws, v: issues.render(ws, v.filter),
          "instances": lambda ws, v: instances.render(ws, v.filter, v.instance),
          "judges": lambda ws, v: judges.render(ws, v.filter), "rubrics": lambda ws, v: rubrics.render(ws, v.filter),
          "compare": lambda ws, v: compare.render(ws, v.filter, v.compare[:2], v.compare[2]),
          "export": lambda ws, v: export.render(ws, v.filter)}

from analysis import store

st.set_page_config(page_title="judgescope", page_icon="🔎", layout="wide")
# the workspace file is open only while a page runs: between runs `judgescope ingest` may write to it
with store.lease(state.workspace_path()):
    ws = state.workspace()
    view = state.sidebar(ws, PAGES, state.read_url(list(PAGES)))
    state.write_url(view)
    state.share_link(view)
    state.show_warnings(view)
    RENDER[view.page](ws, view)
