"""The notebooks run top to bottom on the shipped data and show their tables and figures."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from .conftest import DEMO, ROOT


def run_notebook(name: str, monkeypatch) -> tuple[list, str, str]:
    """Execute notebooks/<name>; return (outputs, printed text, rich HTML)."""
    monkeypatch.setenv("JUDGESCOPE_DEMO_DATA", str(DEMO))
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    html = "\n".join(o["data"].get("text/html", "") for o in outputs
                     if o.output_type in ("execute_result", "display_data"))
    return outputs, text, html


def test_quickstart_notebook_executes(monkeypatch):
    _, text, html = run_notebook("quickstart.ipynb", monkeypatch)
    assert "llmbar -> ingested 90,112, rejected 0" in text
    assert html.lower().count("plotly") >= 2  # both figures rendered
    assert "llama-13b" in html  # the score table


def test_judge_audit_notebook_executes(monkeypatch):
    _, _, html = run_notebook("judge_audit.ipynb", monkeypatch)
    assert "swap_consistency" in html and "agreement_human_majority" in html
    assert html.lower().count("plotly") >= 3
