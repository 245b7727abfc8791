"""The dashboard's server process: `python -m dashboard.server <arguments of streamlit run>`.

The libraries every page reads (the analysis package, its plots, polars, plotly) are imported here, before
Streamlit starts serving and while `judgescope dashboard` prepares the judge audit, so a first visit does not wait
for them (about a second on this project's machine). The page modules are left to Streamlit's first run of the app:
their caches belong to its runtime, which does not exist yet."""

from __future__ import annotations

import sys

import analysis  # noqa: F401 - imported for the first visit's sake
import analysis.plots  # noqa: F401
import plotly.graph_objects  # noqa: F401
import polars  # noqa: F401
from streamlit.web import cli


def main() -> None:
    sys.argv = ["streamlit", "run", *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
