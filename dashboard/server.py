"""The dashboard's server process: `python -m dashboard.server <arguments of streamlit run>`.

What a first visit would otherwise wait for is done here, before Streamlit starts serving and while `judgescope
dashboard` prepares the judge audit: the libraries every page reads are imported (the analysis package, its plots
and audit metrics with scipy, polars, plotly, and pandas, which Streamlit's tables load on first use), and one
figure with the trace types and layout parts the pages draw is built and serialised, which loads plotly's
validators (about 150 modules it imports on first use). The page modules are imported too (import_pages)."""

from __future__ import annotations

import sys

import analysis  # noqa: F401 - imported for the first visit's sake
import analysis.plots  # noqa: F401
import analysis.reliability.audit  # noqa: F401 - the metrics and scipy: a second on a selection's first audit
import pandas  # noqa: F401
import plotly.colors  # noqa: F401 - the colour scales
import plotly.graph_objects as go
import polars  # noqa: F401
from streamlit.web import cli


def import_pages() -> None:
    """The page modules, so Streamlit's first run of the app finds them imported. Their cached functions only
    check their settings when decorated (a cache's storage is made on its first call, by the runtime then
    running), which without a runtime logs a warning per decorator: those are silenced here."""
    import logging

    quiet = [logging.getLogger(f"streamlit.runtime.caching.{api}") for api in ("cache_data_api", "cache_resource_api")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        import dashboard.sidebar  # noqa: F401
        import dashboard.state  # noqa: F401
        import dashboard.views  # noqa: F401
        from dashboard.views import compare, export, instances, issues, judges, overview, rubrics  # noqa: F401
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)


def warm_plotly() -> str:
    """A figure with every trace type and layout part analysis/plots.py uses, in its template, as JSON (what
    st.plotly_chart does)."""
    fig = go.Figure([go.Bar(x=["a"], y=[1.0], error_y={"type": "data", "array": [0.1]}), go.Heatmap(z=[[1.0]])])
    fig.add_scatter(x=[0], y=[0], mode="markers")
    fig.add_scattergl(x=[0], y=[0], mode="markers")
    fig.add_annotation(text="a", x=0, y=0)
    fig.add_vline(x=0.5, line_dash="dot")
    fig.update_layout(
        template="plotly_white",
        title={"text": "t"},
        legend={"orientation": "h"},
        margin={"t": 40},
        clickmode="event+select",
    )
    return fig.to_json()


def warm_streamlit() -> None:
    """Streamlit's once-per-process work on the first page run: the page icon's emoji check loads its emoji table
    (a tenth of a second), and a check whether it runs in a REPL, which only prints a hint to REPL users and walks
    the interpreter stack with inspect to find out (two tenths), is marked done (a server is no REPL; the flag is
    Streamlit's own, and were it renamed the check would only run again)."""
    from streamlit import delta_generator, string_util

    string_util.is_emoji("🔎")
    delta_generator._use_warning_has_been_displayed = True


def main() -> None:
    import_pages()
    warm_plotly()
    warm_streamlit()
    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
