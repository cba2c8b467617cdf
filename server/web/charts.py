"""Bar charts as inline SVG, drawn on the server (no chart script in the browser). Each chart comes with the table of
its numbers in the page, so the figures can be read exactly and by screen readers."""

from collections.abc import Mapping, Sequence

from markupsafe import Markup

from agent_postmortem.render.svg import CHAR_W, num, rect, svg, text

# Okabe-Ito, distinguishable with the common colour-vision deficiencies, then two greys
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999")
BAR_H, GAP, LABEL_W, PLOT_W = 18, 8, 190, 360


def color(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


def _label(value: str, width: float) -> str:
    limit = max(4, int(width / CHAR_W))
    return value if len(value) <= limit else value[: limit - 1] + "…"


def hbars(rows: Sequence[tuple[str, Sequence[float]]], *, series: Sequence[str], label: str, unit: str = "") -> Markup:
    """One group of horizontal bars per row, one bar per series (e.g. completed and overdue items per owner)."""
    top = max((v for _, values in rows for v in values), default=0) or 1
    group = BAR_H * len(series) + GAP
    legend = 22 if len(series) > 1 else 0
    body: list[str] = []
    for n, name in enumerate(series if len(series) > 1 else []):
        body += [rect(LABEL_W + n * 130, 4, 10, 10, color(n)), text(LABEL_W + n * 130 + 14, 13, name)]
    for i, (name, values) in enumerate(rows):
        y = legend + i * group
        body.append(text(LABEL_W - 6, y + group / 2, _label(name, LABEL_W - 8), anchor="end"))
        for n, value in enumerate(values):
            w = PLOT_W * value / top
            title = f"{name}, {series[n]}: {num(value)}{unit}"
            body.append(rect(LABEL_W, y + n * BAR_H, w, BAR_H - 3, color(n), title=title))
            body.append(text(LABEL_W + w + 4, y + n * BAR_H + BAR_H - 7, f"{num(value)}{unit}", size=11))
    return svg(LABEL_W + PLOT_W + 70, legend + max(len(rows), 1) * group, body, label=label)


def stacked_columns(columns: Sequence[str], stacks: Mapping[str, Sequence[int]], *, label: str) -> Markup:
    """One column per entry of `columns` (e.g. weeks), stacked by series (e.g. categories), with a legend."""
    names = [s for s, values in stacks.items() if any(values)]
    totals = [sum(stacks[s][i] for s in names) for i in range(len(columns))]
    top, plot_h, col_w = max(totals, default=0) or 1, 180, 34
    legend_rows = (len(names) + 2) // 3
    left, base = 36, 20 + plot_h
    body = [text(left - 6, base - plot_h + 4, str(top), anchor="end", size=11), text(left - 6, base, "0", anchor="end")]
    for i, column in enumerate(columns):
        x, y = left + i * (col_w + 8), float(base)
        for n, name in enumerate(names):
            h = plot_h * stacks[name][i] / top
            y -= h
            if stacks[name][i]:
                body.append(rect(x, y, col_w, h, color(n), title=f"{column}: {name} {stacks[name][i]}"))
        body.append(text(x + col_w / 2, base + 14, column, anchor="middle", size=10))
        if totals[i]:
            body.append(text(x + col_w / 2, y - 3, str(totals[i]), anchor="middle", size=10))
    for n, name in enumerate(names):
        lx, ly = left + (n % 3) * 200, base + 34 + (n // 3) * 18
        body += [rect(lx, ly - 9, 10, 10, color(n)), text(lx + 14, ly, name)]
    width = max(left + len(columns) * (col_w + 8), left + 600)
    return svg(width, base + 40 + legend_rows * 18, body, label=label)
