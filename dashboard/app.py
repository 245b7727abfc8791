"""judgescope dashboard. Run with `judgescope dashboard` (or `streamlit run dashboard/app.py`
with JUDGESCOPE_WORKSPACE set)."""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.views import judges, overview, rubrics

PAGES = {"overview": "Overview", "judges": "Judges", "rubrics": "Rubrics"}
RENDER = {"overview": overview.render, "judges": judges.render, "rubrics": rubrics.render}

st.set_page_config(page_title="judgescope", page_icon="🔎", layout="wide")
ws = state.workspace()
view = state.sidebar(ws, PAGES, state.read_url(list(PAGES)))
state.write_url(view)
state.show_warnings(view)
RENDER[view.page](ws, view.filter)
