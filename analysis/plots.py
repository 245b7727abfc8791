"""Plotly figure builders shared by notebooks, the dashboard and HTML export.

Builders take small, already-aggregated polars frames (the aggregation happens in DuckDB) and
never touch user text as HTML: hover text passes through plotly's own escaping.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=15)),
        font=dict(family=FONT, size=12),
        margin=dict(l=10, r=10, t=48, b=10),
        height=height,
        template="plotly_white",
    )
    return fig


def empty_figure(message: str, title: str = "") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=14, color="#666"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, 220)


def score_heatmap(dist: pl.DataFrame, by: str, x_title: str, title: str) -> go.Figure:
    """Rows = groups (ordered by mean), columns = score buckets, colour = share of the group's judgments.

    `dist` columns: group, bucket (sortable), label, n, share, group_n, group_mean."""
    if dist.height == 0:
        return empty_figure("No scored judgments match this filter.", title)
    groups = (dist.select("group", "group_mean", "group_n").unique("group")
              .sort("group_mean", descending=False, nulls_last=False))
    buckets = dist.select("bucket", "label").unique("bucket").sort("bucket")
    g_index = {g: i for i, g in enumerate(groups["group"].to_list())}
    b_index = {b: i for i, b in enumerate(buckets["bucket"].to_list())}
    z = [[0.0] * len(b_index) for _ in g_index]
    counts = [[0] * len(b_index) for _ in g_index]
    for row in dist.iter_rows(named=True):
        gi, bi = g_index[row["group"]], b_index[row["bucket"]]
        z[gi][bi] = row["share"]
        counts[gi][bi] = row["n"]
    y_labels = [f"{g}  (n={n:,}, mean {m:.2f})" if m is not None else f"{g}  (n={n:,})"
                for g, m, n in groups.select("group", "group_mean", "group_n").iter_rows()]
    text = [[f"{v:.0%}" if v >= 0.005 else "" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=buckets["label"].to_list(), y=y_labels, text=text, texttemplate="%{text}",
        customdata=counts, colorscale="Blues", zmin=0, zmax=max(max(r) for r in z) or 1,
        hovertemplate=f"{by}: %{{y}}<br>{x_title}: %{{x}}<br>share: %{{z:.1%}}<br>judgments: %{{customdata:,}}<extra></extra>",
        colorbar=dict(title="share", tickformat=".0%"),
    ))
    fig.update_xaxes(title=x_title, type="category")
    fig.update_yaxes(title=None, automargin=True)
    return _layout(fig, title, 140 + 28 * len(g_index))


def verdict_bars(outcomes: pl.DataFrame, by: str, title: str) -> go.Figure:
    """Stacked horizontal bars of pairwise outcomes per group: first-shown won, second-shown won, tie, no verdict.

    `outcomes` columns: group, outcome, n, share."""
    if outcomes.height == 0:
        return empty_figure("No pairwise judgments match this filter.", title)
    order = ["first shown won", "second shown won", "tie", "order unknown", "no verdict"]
    colors = {"first shown won": "#3b6fb6", "second shown won": "#9cc3e6", "tie": "#c7c7c7",
              "order unknown": "#e0d5b5", "no verdict": "#d62728"}
    groups = outcomes.select("group").unique().sort("group")["group"].to_list()
    fig = go.Figure()
    for outcome in order:
        sub = outcomes.filter(pl.col("outcome") == outcome)
        if sub.height == 0:
            continue
        lookup = {g: (s, n) for g, s, n in sub.select("group", "share", "n").iter_rows()}
        fig.add_bar(
            name=outcome, orientation="h", y=groups, x=[lookup.get(g, (0, 0))[0] for g in groups],
            customdata=[lookup.get(g, (0, 0))[1] for g in groups], marker_color=colors[outcome],
            text=[f"{lookup[g][0]:.0%}" if g in lookup and lookup[g][0] >= 0.06 else "" for g in groups],
            textposition="inside",
            hovertemplate=f"{by}: %{{y}}<br>{outcome}: %{{x:.1%}} (%{{customdata:,}})<extra></extra>",
        )
    fig.update_layout(barmode="stack", legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, traceorder="normal"))
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(automargin=True)
    fig = _layout(fig, title, 170 + 30 * len(groups))
    fig.update_layout(margin=dict(t=80))
    return fig
