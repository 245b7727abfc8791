"""Export: the issue summary and judge audit of the selection as Markdown, HTML, CSV or JSON (keep everything, or
the top issues — the report says what it left out); a static offline bundle (HTML files in a zip, for someone
without the workspace); the selected judgments as CSV or Parquet."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from analysis import UserError, Workspace
from analysis.export import safe_csv_frame

from .. import state
from ..state import md_escape

MIME = {"md": "text/markdown", "html": "text/html", "csv": "text/csv", "json": "application/json"}
NAMES = {"md": "Markdown", "html": "HTML (one offline file)", "csv": "CSV", "json": "JSON"}


def render(ws: Workspace) -> None:
    flt = state.selection()
    st.header("Export")
    st.caption(md_escape(f"Everything here covers the selection: {flt.describe()}."))
    key = flt.to_query()

    st.subheader("Report")
    c1, c2 = st.columns([3, 2])
    fmt = c1.radio("Format", list(MIME), horizontal=True, key="w_export_fmt", format_func=NAMES.get)
    keep_all = c2.toggle(
        "Keep every issue and group",
        key="w_export_all",
        help="Otherwise the 15 issues with the most instances and 12 groups per issue; the report "
        "lists what it left out.",
    )
    if st.button("Build the report", key="w_export_build"):
        with st.spinner("Building the report…"):
            text = ws.report(fmt, filter=flt, top=None if keep_all else 15, groups=None if keep_all else 12)
        st.session_state["js_report"] = (key, fmt, text)
    built = st.session_state.get("js_report")
    if built and built[0] == key:
        _, f, text = built
        st.download_button(
            f"Download judgescope-report.{f}",
            text.encode("utf-8"),
            file_name=f"judgescope-report.{f}",
            mime=MIME[f],
            key="w_export_download",
        )

    st.subheader("Static bundle")
    st.caption(
        "HTML files that open from a folder or any static host, with no server and no workspace: the issue "
        "list, each issue's examples and instances, the audit and an instance page each. Escaped like the app."
    )
    examples = st.number_input("Instances per issue", 1, 200, 20, key="w_bundle_examples")
    if st.button("Build the bundle", key="w_bundle_build"):
        with st.spinner("Writing the bundle…"):
            try:
                st.session_state["js_bundle"] = (key, _bundle_zip(ws, flt, int(examples)))
            except UserError as exc:
                st.error(md_escape(str(exc)))
    bundle = st.session_state.get("js_bundle")
    if bundle and bundle[0] == key:
        st.download_button(
            "Download judgescope-bundle.zip",
            bundle[1],
            file_name="judgescope-bundle.zip",
            mime="application/zip",
            key="w_bundle_download",
        )

    st.subheader("Selected judgments")
    n = state.cached(_count, flt)
    st.caption(f"{n:,} judgments")
    kind = st.radio("Table format", ["csv", "parquet"], horizontal=True, key="w_export_table")
    if st.button("Prepare the table", key="w_export_table_build"):
        frame = ws.judgments(flt)
        buf = io.BytesIO()
        safe_csv_frame(frame).write_csv(buf) if kind == "csv" else frame.write_parquet(buf)
        st.session_state["js_table"] = (key, kind, buf.getvalue())
    table = st.session_state.get("js_table")
    if table and table[0] == key:
        st.download_button(
            f"Download judgments.{table[1]}", table[2], file_name=f"judgments.{table[1]}", key="w_export_table_download"
        )


def _bundle_zip(ws: Workspace, flt, examples: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = ws.bundle(Path(tmp) / "judgescope-bundle", filter=flt, examples=examples)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    z.write(path, Path("judgescope-bundle") / path.relative_to(out))
        return buf.getvalue()


def _count(ws, flt):
    return ws.count(flt)
