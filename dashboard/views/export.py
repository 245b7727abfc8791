"""Export: the issue summary and judge audit as Markdown, HTML, CSV or JSON; the filtered judgments as
CSV or Parquet."""

from __future__ import annotations

import io

import streamlit as st

from analysis import Filter, Workspace
from analysis.export import safe_csv_frame

from ..state import md_escape

MIME = {"md": "text/markdown", "html": "text/html", "csv": "text/csv", "json": "application/json"}


def render(ws: Workspace, flt: Filter) -> None:
    st.header("Export")
    st.caption(md_escape(f"The audit covers {flt.describe()}; the issue summary covers the chosen issue set."))
    fmt = st.radio("Report format", list(MIME), horizontal=True, key="js_export_fmt",
                   format_func=lambda f: {"md": "Markdown", "html": "HTML (one offline file)", "csv": "CSV",
                                          "json": "JSON"}[f])
    if st.button("Build the report", key="js_export_build"):
        with st.spinner("Building…"):
            st.session_state["js_report"] = (fmt, ws.report(fmt, issue_set=flt.issue_set, filter=flt))
    built = st.session_state.get("js_report")
    if built:
        f, text = built
        st.download_button(f"Download report.{f}", text.encode("utf-8"), file_name=f"judgescope-report.{f}",
                           mime=MIME[f], key="js_export_download")
    st.subheader("Filtered judgments")
    n = ws.count(flt)
    st.caption(f"{n:,} judgments")
    kind = st.radio("Table format", ["csv", "parquet"], horizontal=True, key="js_export_table")
    if st.button("Prepare the table", key="js_export_table_build"):
        frame = ws.judgments(flt)
        buf = io.BytesIO()
        safe_csv_frame(frame).write_csv(buf) if kind == "csv" else frame.write_parquet(buf)
        st.session_state["js_table"] = (kind, buf.getvalue())
    table = st.session_state.get("js_table")
    if table:
        st.download_button(f"Download judgments.{table[0]}", table[1], file_name=f"judgments.{table[0]}",
                           key="js_export_table_download")
