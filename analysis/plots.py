"""Plotly figure builders shared by notebooks, the dashboard and HTML export.

Builders take small, already-aggregated polars frames (the aggregation happens in DuckDB).

Plotly renders a subset of HTML (`<a href>`, `<b>`, `<br>`, `<span style>`, entities) in tick labels,
legend names, titles, hover text, text and annotations, and does not escape anything itself. So every
string from data that reaches a figure goes through `inert()` first; the `<br>` and `<b>` a builder
adds are put around already inert text. Categories from data (judge, model, criterion, group names)
are used in their inert form both as the data key and as the label: escaping is one-to-one, so two
different names stay two categories, and plotly shows the escaped form as the original text.
"""

from __future__ import annotations

import html
import zlib

import plotly.graph_objects as go
import polars as pl

FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"


def share_format(shares) -> str:
    """A percent format with the decimals the largest share needs to tell cells apart: ".0%" from 10% up, ".1%"
    from 1%, ".2%" below (an issue in 0.3% of responses is not shown as "0%")."""
    top = max(shares, default=0.0)
    return ".0%" if top >= 0.1 else ".1%" if top >= 0.01 else ".2%"


def inert(text: object) -> str:
    """`text` (from data) as plotly pseudo-HTML that shows it literally: `&`, `<` and `>` escaped, so no
    tag is interpreted and no entity decoded. None becomes ""."""
    if text is None:
        return ""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _template(text: object) -> str:
    """`inert(text)` for the literal part of a hovertemplate: `%` is escaped too, so `%{...}` in data
    is no placeholder."""
    return inert(text).replace("%", "&#37;")


def _inert_list(values) -> list[str]:
    return [inert(v) for v in values]


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=inert(title), x=0, xanchor="left", font=dict(size=15)),
        font=dict(family=FONT, size=12),
        margin=dict(l=10, r=10, t=48, b=10),
        height=height,
        template="plotly_white",
    )
    return fig


def click_layer(fig: go.Figure, x: list, y: list, hover: list[str], keys: list[list]) -> go.Figure:
    """Make a heatmap's cells clickable: plotly reports no selection on heatmaps, so an invisible square marker
    sits on each cell, carrying the cell's hover text (hovertext) and its keys (customdata, inert like every other
    string in a figure; a click hands them back and `keys_of` restores them). The heatmap's own hover is off.
    (Hover text in customdata made Streamlit drop the selection event.)"""
    if not x:
        return fig
    fig.update_traces(hoverinfo="skip", hovertemplate=None, selector=dict(type="heatmap"))
    fig.add_scatter(
        x=x,
        y=y,
        mode="markers",
        showlegend=False,
        name="",
        marker=dict(symbol="square", size=40, opacity=0.01, color="#000"),
        hovertext=hover,
        customdata=[_inert_keys(k) for k in keys],
        hovertemplate="%{hovertext}<extra></extra>",
    )
    fig.update_layout(clickmode="event+select", dragmode=False, hovermode="closest")
    return fig


def _inert_keys(keys) -> list:
    return [inert(v) if isinstance(v, str) else v for v in keys]


def keys_of(customdata) -> list | None:
    """A clicked point's keys as the data has them (the inverse of the inert form they ride in)."""
    if isinstance(customdata, str):
        customdata = [customdata]
    if not isinstance(customdata, (list, tuple)) or not customdata:
        return None
    return [html.unescape(v) if isinstance(v, str) else v for v in customdata]


def cell_keys(event) -> list | None:
    """The keys of the clicked cell or point from a Streamlit plotly selection event, or None."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        points = getattr(getattr(event, "selection", None), "points", None)
    for point in points or []:
        keys = keys_of(point.get("customdata") if isinstance(point, dict) else None)
        if keys:
            return keys
    return None


def empty_figure(message: str, title: str = "") -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=inert(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font=dict(size=14, color="#666")
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, 220)


def score_heatmap(dist: pl.DataFrame, by: str, x_title: str, title: str) -> go.Figure:
    """Rows = groups (ordered by mean), columns = score buckets, colour = share of the group's judgments.

    `dist` columns: group, bucket (sortable), label, n, share, group_n, group_mean."""
    if dist.height == 0:
        return empty_figure("No scored judgments match this filter.", title)
    groups = (
        dist.select("group", "group_mean", "group_n")
        .unique("group")
        .sort("group_mean", descending=False, nulls_last=False)
    )
    buckets = dist.select("bucket", "label").unique("bucket").sort("bucket")
    g_index = {g: i for i, g in enumerate(groups["group"].to_list())}
    b_index = {b: i for i, b in enumerate(buckets["bucket"].to_list())}
    z = [[0.0] * len(b_index) for _ in g_index]
    counts = [[0] * len(b_index) for _ in g_index]
    for row in dist.iter_rows(named=True):
        gi, bi = g_index[row["group"]], b_index[row["bucket"]]
        z[gi][bi] = row["share"]
        counts[gi][bi] = row["n"]
    # the category is the (inert) group name; the tick label adds n and the mean
    y_keys = _inert_list(groups["group"].to_list())
    y_labels = [
        f"{inert(g)}  (n={n:,}, mean {m:.2f})" if m is not None else f"{inert(g)}  (n={n:,})"
        for g, m, n in groups.select("group", "group_mean", "group_n").iter_rows()
    ]
    text = [[f"{v:.0%}" if v >= 0.005 else "" for v in row] for row in z]
    x_keys = _inert_list(buckets["label"].to_list())
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x_keys,
            y=y_keys,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=max(max(r) for r in z) or 1,
            colorbar=dict(title="share", tickformat=".0%"),
        )
    )
    # a click opens the judgments behind the cell: the group and the bucket's score bounds
    raw = bool(dist["raw_scale"][0]) if "raw_scale" in dist.columns else False
    groups_raw = groups["group"].to_list()
    xs, ys, hover, keys = [], [], [], []
    for row in dist.iter_rows(named=True):
        gi, bi = g_index[row["group"]], b_index[row["bucket"]]
        xs.append(x_keys[bi])
        ys.append(y_keys[gi])
        hover.append(
            f"{inert(by)}: {inert(groups_raw[gi])}<br>{inert(x_title)}: {x_keys[bi]}<br>"
            f"share: {row['share']:.1%}<br>judgments: {row['n']:,}<br><i>click to open them</i>"
        )
        keys.append([row["group"], row.get("lo"), row.get("hi"), raw])
    click_layer(fig, xs, ys, hover, keys)
    fig.update_xaxes(title=inert(x_title), type="category")
    fig.update_yaxes(title=None, automargin=True, type="category", tickmode="array", tickvals=y_keys, ticktext=y_labels)
    return _layout(fig, title, 140 + 28 * len(g_index))


def verdict_bars(outcomes: pl.DataFrame, by: str, title: str) -> go.Figure:
    """Stacked horizontal bars of pairwise outcomes per group: first-shown won, second-shown won, tie, no verdict.

    `outcomes` columns: group, outcome, n, share."""
    if outcomes.height == 0:
        return empty_figure("No pairwise judgments match this filter.", title)
    order = ["first shown won", "second shown won", "tie", "order unknown", "no verdict"]
    colors = {
        "first shown won": "#3b6fb6",
        "second shown won": "#9cc3e6",
        "tie": "#c7c7c7",
        "order unknown": "#e0d5b5",
        "no verdict": "#d62728",
    }
    groups = outcomes.select("group").unique().sort("group")["group"].to_list()
    fig = go.Figure()
    for outcome in order:
        sub = outcomes.filter(pl.col("outcome") == outcome)
        if sub.height == 0:
            continue
        lookup = {g: (s, n) for g, s, n in sub.select("group", "share", "n").iter_rows()}
        fig.add_bar(
            name=inert(outcome),
            orientation="h",
            y=_inert_list(groups),
            x=[lookup.get(g, (0, 0))[0] for g in groups],
            customdata=[lookup.get(g, (0, 0))[1] for g in groups],
            marker_color=colors[outcome],
            text=[f"{lookup[g][0]:.0%}" if g in lookup and lookup[g][0] >= 0.06 else "" for g in groups],
            textposition="inside",
            hovertemplate=f"{_template(by)}: %{{y}}<br>{_template(outcome)}: %{{x:.1%}} (%{{customdata:,}})<extra></extra>",
        )
    fig.update_layout(barmode="stack", legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0, traceorder="normal"))
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(automargin=True, type="category", categoryorder="array", categoryarray=_inert_list(groups))
    fig = _layout(fig, title, 170 + 30 * len(groups))
    fig.update_layout(margin=dict(t=80))
    return fig


LABEL_CHARS = 40


def _short(label) -> str:
    """A category label from data, inert and cut to LABEL_CHARS (one-to-one enough for a heatmap's axis: a
    numbered suffix keeps two long labels with the same start apart)."""
    text = str(label)
    if len(text) <= LABEL_CHARS:
        return inert(text)
    return inert(text[: LABEL_CHARS - 7].rstrip() + "… #" + format(zlib.crc32(text.encode()) % 997, "03d"))


def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def bias_heatmap(audit: pl.DataFrame, metrics: dict[str, tuple[float, str]], title: str = "Judge bias") -> go.Figure:
    """Judges × bias metrics; colour = deviation from the unbiased value (diverging, centred on 0), each
    cell annotated with its value; hover shows the interval and n; grey cells could not be computed."""
    frame = audit.filter(
        pl.col("metric").is_in(list(metrics)) & (pl.col("judge") != "(humans)") & pl.col("judge").is_not_null()
    )
    if frame.height == 0:
        return empty_figure("No bias metric applies to these judgments.", title)
    # a metric no judge has a value for (position bias of pointwise-only data) is named, not drawn as a column of n/a
    computed = set(frame.filter(pl.col("value").is_not_null())["metric"])
    cols = [m for m in metrics if m in computed]
    absent = [m for m in metrics if m in set(frame["metric"]) and m not in computed]
    if not cols:
        return empty_figure(
            f"No bias metric could be computed here ({', '.join(absent)}): see the audit's notes.", title
        )
    if absent:
        title = f"{title} · not computed for any judge here: {', '.join(absent)}"
    judges = sorted(set(frame["judge"]))
    cell = {(r["judge"], r["metric"]): r for r in frame.iter_rows(named=True)}
    z, text, hover = [], [], []
    for j in judges:
        zr: list[float | None] = []
        tr: list[str] = []
        hr: list[str] = []
        for m in cols:
            r = cell.get((j, m))
            ideal, what = metrics[m]
            # plotly escapes nothing in hover text: every piece from data is made inert, then tagged
            if r is None or r["value"] is None:
                zr.append(None)
                tr.append("n/a")
                why = (r or {}).get("note") or "not computed for this judge"
                hr.append(f"<b>{inert(j)}</b><br>{inert(m)}: {inert(what)}<br>{inert(why)}")
            else:
                zr.append(r["value"] - ideal)
                tr.append(_fmt(r["value"]))
                ci = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
                hr.append(
                    f"<b>{inert(j)}</b><br>{inert(m)}: {inert(what)}<br>value {_fmt(r['value'], 3)} {ci} "
                    f"(unbiased: {ideal:g})<br>n = {r['n'] or 0:,}"
                )
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    span = max([abs(v) for row in z for v in row if v is not None] + [0.1])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=_inert_list(cols),
            y=_inert_list(judges),
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            zmid=0,
            zmin=-min(span, 1),
            zmax=min(span, 1),
            colorbar=dict(title="deviation<br>from unbiased"),
            hoverongaps=True,
            xgap=2,
            ygap=2,
        )
    )
    xs = [inert(m) for _ in judges for m in cols]
    ys = [inert(j) for j in judges for _ in cols]
    click_layer(
        fig,
        xs,
        ys,
        [h + "<br><i>click to open the instances behind it</i>" for row in hover for h in row],
        [[j, m] for j in judges for m in cols],
    )
    fig.update_layout(plot_bgcolor="#d9d9d9")
    fig.update_xaxes(tickangle=-30, side="top", automargin=True, type="category")
    fig.update_yaxes(autorange="reversed", automargin=True, type="category")
    fig = _layout(fig, title, 220 + 34 * len(judges))
    fig.update_layout(margin=dict(t=150), title=dict(y=0.98, yanchor="top"))
    return fig


def matrix_heatmap(
    frame: pl.DataFrame,
    row: str,
    col: str,
    value: str,
    title: str,
    zmin: float = 0.0,
    zmax: float = 1.0,
    colorscale: str = "Viridis",
    symmetric: bool = False,
    n_col: str | None = "n",
    value_label: str = "value",
) -> go.Figure:
    """A generic annotated heatmap of `value` over `row` × `col` (symmetric mirrors a triangle)."""
    if frame.height == 0:
        return empty_figure("Nothing to show for this filter.", title)
    data = frame
    if symmetric:
        data = pl.concat([frame, frame.rename({row: col, col: row}).select(frame.columns)])
    rows = sorted(set(data[row]))
    cols = sorted(set(data[col])) if not symmetric else rows
    cell = {(r[row], r[col]): r for r in data.iter_rows(named=True)}
    z = [
        [
            (cell.get((a, b)) or {}).get(value) if not (symmetric and a == b) else (1.0 if zmax == 1.0 else None)
            for b in cols
        ]
        for a in rows
    ]
    hover = [
        [
            f"{inert(a)} × {inert(b)}<br>{inert(value_label)}: {_fmt((cell.get((a, b)) or {}).get(value), 3)}"
            + (f"<br>n = {(cell.get((a, b)) or {}).get(n_col) or 0:,}" if n_col else "")
            for b in cols
        ]
        for a in rows
    ]
    text = [[_fmt(v) if v is not None else "" for v in r] for r in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[_short(c) for c in cols],
            y=[_short(r) for r in rows],
            text=text,
            texttemplate="%{text}",
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            xgap=1,
            ygap=1,
            colorbar=dict(title=inert(value_label)),
        )
    )
    cells = [(a, b) for a in rows for b in cols if (a, b) in cell]
    click_layer(
        fig,
        [_short(b) for _, b in cells],
        [_short(a) for a, _ in cells],
        [hover[rows.index(a)][cols.index(b)] + "<br><i>click to open the instances</i>" for a, b in cells],
        [[a, b] for a, b in cells],
    )
    fig.update_xaxes(tickangle=-30, automargin=True, type="category")
    fig.update_yaxes(autorange="reversed", automargin=True, type="category")
    longest = max([len(_short(r)) for r in rows] + [4])
    fig = _layout(fig, title, 200 + 26 * len(rows))
    # long labels (criteria are often sentences) are cut to LABEL_CHARS with the full name in the hover; the
    # plot keeps at least 60% of the width
    fig.update_layout(margin=dict(l=min(10 + 6 * longest, 320)))
    fig.update_yaxes(automargin=False)
    return fig


def agreement_bars(frame: pl.DataFrame, ceiling: float | None, title: str, labels: str = "human-labelled") -> go.Figure:
    """Judge vs human agreement with intervals, and the human-to-human agreement as a ceiling line."""
    if frame.height == 0:
        return empty_figure(f"No judge has {labels} judgments here.", title)
    f = frame.sort("value")
    fig = go.Figure(
        go.Bar(
            x=f["value"].to_list(),
            y=_inert_list(f["judge"].to_list()),
            orientation="h",
            marker_color="#3b6fb6",
            error_x=dict(
                type="data",
                symmetric=False,
                array=(f["ci_high"] - f["value"]).fill_null(0).to_list(),
                arrayminus=(f["value"] - f["ci_low"]).fill_null(0).to_list(),
            ),
            text=[_fmt(v) for v in f["value"]],
            textposition="inside",
            insidetextanchor="start",
            customdata=f["n"].to_list(),
            hovertemplate="%{y}: %{x:.3f} (n=%{customdata:,})<extra></extra>",
        )
    )
    if ceiling is not None:
        fig.add_vline(
            x=ceiling,
            line_dash="dash",
            line_color="#d62728",
            annotation_text=f"humans agree with each other: {ceiling:.2f}",
            annotation_position="top left",  # the text runs left of the line: a ceiling near 1 is not cut at the edge
            annotation_yanchor="bottom",  # above the bars, not over the first one
        )
    fig.update_xaxes(range=[0, 1], title="agreement")
    fig.update_yaxes(automargin=True, type="category")
    return _layout(fig, title, 180 + 36 * f.height)


def length_scatter(sample: pl.DataFrame, bins: pl.DataFrame, title: str) -> go.Figure:
    """Response length against normalised score: a sample of judgments and each judge's mean per length decile."""
    if sample.height == 0:
        return empty_figure("No scored responses of known length.", title)
    fig = go.Figure()
    palette = ["#3b6fb6", "#e07b39", "#5a9e4b", "#a05195", "#d62728", "#8c6d31"]
    for i, judge in enumerate(sorted(set(sample["judge"]))):
        s = sample.filter(pl.col("judge") == judge)
        b = bins.filter(pl.col("judge") == judge)
        c = palette[i % len(palette)]
        fig.add_scatter(
            x=s["n_chars"].to_list(),
            y=s["score_norm"].to_list(),
            mode="markers",
            name=inert(judge),
            marker=dict(size=4, opacity=0.25, color=c),
            legendgroup=inert(judge),
            customdata=_inert_list(s["model"].to_list()),
            hovertemplate="length %{x:,} chars<br>score %{y:.2f}<br>model %{customdata}<extra></extra>",
        )
        fig.add_scatter(
            x=b["n_chars"].to_list(),
            y=b["mean_score"].to_list(),
            mode="lines+markers",
            name=f"{inert(judge)}: mean by length decile",
            line=dict(color=c, width=3),
            legendgroup=inert(judge),
        )
    fig.update_xaxes(type="log", title="response length (characters, log scale)")
    fig.update_yaxes(title="normalised score", range=[-0.05, 1.05])
    return _layout(fig, title, 460)


def issue_map(frame: pl.DataFrame, highlight: list[str], title: str) -> go.Figure:
    """Scatter of segment coordinates: the issues in `highlight` (ids, biggest first) each in a colour, every
    other issue in one grey, strengths in a light green, unassigned segments in light grey. Each point carries
    its judgment id and issue id (customdata) so a click can open them."""
    if frame.height == 0:
        return empty_figure("No map: the issue set has no coordinates.", title)
    import textwrap

    # twelve colours no two of which read alike (the first ten and two more of plotly's had: blue 1 and 9, orange 2
    # and 10); from plotly's Dark24
    palette = [
        "#2E91E5",
        "#E15F99",
        "#1CA71C",
        "#FB0D0D",
        "#DA16FF",
        "#222A2A",
        "#B68100",
        "#750D86",
        "#EB663B",
        "#511CFB",
        "#00A08B",
        "#FB00D1",
    ]
    frame = frame.with_columns(pl.col("issue_id").fill_null(""), pl.col("kind").fill_null("none"))
    groups: list[tuple[str, pl.DataFrame, str, float]] = []
    for n, issue_id in enumerate(highlight):
        sub = frame.filter(pl.col("issue_id") == issue_id)
        if sub.height:
            groups.append((f"{issue_id}. {sub['issue'][0][:50]}", sub, palette[n % len(palette)], 0.75))
    rest = frame.filter(~pl.col("issue_id").is_in(highlight))
    for label, cond, colour, alpha in (
        ("other issues", pl.col("kind") == "issue", "#8c8c8c", 0.45),
        ("strengths", pl.col("kind") == "strength", "#b7d7a8", 0.45),
        ("no issue", pl.col("kind") == "none", "#dcdcdc", 0.35),
    ):
        sub = rest.filter(cond)
        if sub.height:
            groups.append((label, sub, colour, alpha))
    fig = go.Figure()
    for label, sub, colour, alpha in groups:
        # wrapped first, then made inert (wrapping escaped text could cut an entity in two)
        hover = [
            "<br>".join(inert(line) for line in textwrap.wrap(t or "", 80)[:4]) + "<br><b>" + inert(i[:60]) + "</b>"
            for t, i in zip(sub["text"].to_list(), sub["issue"].to_list())
        ]
        fig.add_scattergl(
            x=sub["x"].to_list(),
            y=sub["y"].to_list(),
            mode="markers",
            name=inert(label),
            marker=dict(size=5, color=colour, opacity=alpha),
            hovertext=hover,
            customdata=[_inert_keys(k) for k in zip(sub["judgment_id"].to_list(), sub["issue_id"].to_list())],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(legend=dict(font=dict(size=10)), clickmode="event+select")
    return _layout(fig, title, 620)


def prevalence_heatmap(
    frame: pl.DataFrame, by: str, issue_order: list[str], title: str, sizes: dict[str, int] | None = None
) -> go.Figure:
    """Issues × groups: share of each group's instances with the issue, annotated; hover shows the interval. With
    `sizes` (group -> judged responses), every group is a column, 0% where none of these issues reaches it."""
    if frame.height == 0:
        return empty_figure("No issue instances in these groups.", title)
    groups = sorted(set(frame[by]) | set(sizes or ()))
    titles = dict(zip(frame["issue_id"], frame["title"]))
    rows = [i for i in issue_order if i in titles]
    cell = {(r["issue_id"], r[by]): r for r in frame.iter_rows(named=True)}
    z = [[(cell.get((i, g)) or {}).get("share", 0.0 if sizes and g in sizes else None) for g in groups] for i in rows]
    hover = [
        [
            f"{inert(titles[i])}<br>{inert(by)}: {inert(g)}<br>"
            + (
                f"{c['share']:.1%} [{c['ci_low']:.1%}, {c['ci_high']:.1%}] of {c['n_group']:,}"
                if (c := cell.get((i, g)))
                else "none"
            )
            for g in groups
        ]
        for i in rows
    ]
    fmt = share_format(v for r in z for v in r if v is not None)
    text = [[format(v, fmt) if v is not None else "" for v in r] for r in z]
    labels = [inert(f"{i}. {(titles[i] or '')[:60]}") for i in rows]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=_inert_list(groups),
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale="Reds",
            zmin=0,
            colorbar=dict(title="share", tickformat=fmt),
            xgap=1,
            ygap=1,
        )
    )
    cells = [(ri, gi) for ri, i in enumerate(rows) for gi, g in enumerate(groups) if (i, g) in cell]
    click_layer(
        fig,
        [inert(groups[gi]) for _, gi in cells],
        [labels[ri] for ri, _ in cells],
        [hover[ri][gi] + "<br><i>click to open these instances</i>" for ri, gi in cells],
        [[rows[ri], groups[gi]] for ri, gi in cells],
    )
    fig.update_xaxes(tickangle=-30, automargin=True, type="category")
    fig.update_yaxes(autorange="reversed", automargin=True, type="category")
    return _layout(fig, title, 220 + 26 * len(rows))
