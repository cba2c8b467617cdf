"""The causal graph of an analysis as inline SVG: contributing factors -> their effects -> the incident, laid out
in layers from left (first causes) to right (the incident). A pure function of the analysis; no script, no font
metrics, every label escaped (render/svg.py).

The same reading as the Markdown report's Mermaid chart: nodes are factor and effect texts (the same words in any
case or punctuation are one node), an effect that is another factor continues the chain, and every node that leads
nowhere else leads to the incident. Cycles are broken where they close (the edge is drawn, the layering ignores it).
"""

import re
from dataclasses import dataclass, field

from markupsafe import Markup

from agent_postmortem.render.svg import FONT, esc, num, svg, wrap
from agent_postmortem.store.models import Incident

NODE_W, COL_GAP, ROW_GAP, LINE_H, PAD, CHARS, LINES = 210, 70, 18, 15, 8, 30, 4
TOP = 34  # room above the nodes for an edge that loops back (a cycle)
INCIDENT = "__incident__"


@dataclass
class Node:
    key: str
    label: str
    layer: int = 0
    x: float = 0
    y: float = 0
    lines: list[str] = field(default_factory=list)

    @property
    def height(self) -> float:
        return len(self.lines) * LINE_H + 2 * PAD


def _key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower())) or text


def _chains(incident: Incident) -> tuple[dict[str, Node], list[tuple[str, str]]]:
    assert incident.analysis is not None
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    for f in incident.analysis.contributing_factors:
        src, dst = _key(f.factor), _key(f.effect)
        nodes.setdefault(src, Node(src, f.factor))
        nodes.setdefault(dst, Node(dst, f.effect))
        if src != dst and (src, dst) not in edges:
            edges.append((src, dst))
    sources = {s for s, _ in edges}
    edges += [(k, INCIDENT) for k in nodes if k not in sources]
    nodes[INCIDENT] = Node(INCIDENT, f"{incident.id}: {incident.title}")
    return nodes, edges


def _distances(nodes: dict[str, Node], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's longest path to the incident (edges that close a cycle are not followed)."""
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for s, d in edges:
        succ[s].append(d)
    dist: dict[str, int] = {}
    on_path: set[str] = set()

    def visit(k: str) -> int:
        if k in dist:
            return dist[k]
        on_path.add(k)
        found = [visit(d) + 1 for d in succ[k] if d not in on_path]
        on_path.discard(k)
        dist[k] = max(found, default=0)
        return dist[k]

    for k in nodes:
        visit(k)
    return dist


def layout(incident: Incident) -> tuple[list[Node], list[tuple[Node, Node]], float, float]:
    """Nodes placed in columns (first causes left, the incident right), the edges between them, width, height."""
    nodes, edges = _chains(incident)
    dist = _distances(nodes, edges)
    top = max(dist.values())
    columns: list[list[Node]] = [[] for _ in range(top + 1)]
    for k, n in nodes.items():
        n.layer = top - dist[k]
        n.lines = wrap(n.label, CHARS, LINES)
        columns[n.layer].append(n)
    preds = {k: [s for s, d in edges if d == k] for k in nodes}
    for column in columns[1:]:  # order each column by where its causes sit, so edges cross less
        column.sort(key=lambda n: sum(nodes[p].y for p in preds[n.key]) / max(len(preds[n.key]), 1))
        _stack(column)
    _stack(columns[0])
    height = max(sum(n.height for n in c) + ROW_GAP * (len(c) - 1) for c in columns)
    for layer, column in enumerate(columns):
        shift = (height - (sum(n.height for n in column) + ROW_GAP * (len(column) - 1))) / 2
        for n in column:
            n.x, n.y = PAD + layer * (NODE_W + COL_GAP), n.y + shift + TOP
    width = PAD * 2 + len(columns) * NODE_W + (len(columns) - 1) * COL_GAP
    return list(nodes.values()), [(nodes[s], nodes[d]) for s, d in edges], width, height + TOP + PAD


def _stack(column: list[Node]) -> None:
    y = 0.0
    for n in column:
        n.y = y
        y += n.height + ROW_GAP


def _edge(src: Node, dst: Node) -> str:
    x1, y1 = src.x + NODE_W, src.y + src.height / 2
    x2, y2 = dst.x, dst.y + dst.height / 2
    if dst.layer <= src.layer:  # closes a cycle: loop back over the top
        x1, x2 = src.x + NODE_W / 2, dst.x + NODE_W / 2
        y1, y2 = src.y, dst.y
        mid = min(y1, y2) - 30
        d = f"M{num(x1)},{num(y1)} C{num(x1)},{num(mid)} {num(x2)},{num(mid)} {num(x2)},{num(y2)}"
    else:
        bend = (x2 - x1) / 2
        d = f"M{num(x1)},{num(y1)} C{num(x1 + bend)},{num(y1)} {num(x2 - bend)},{num(y2)} {num(x2)},{num(y2)}"
    return f'<path d="{d}" fill="none" stroke="#6b7280" stroke-width="1.5" marker-end="url(#pm-arrow)"/>'


def _node(n: Node) -> str:
    fill, stroke = ("#fee2e2", "#b91c1c") if n.key == INCIDENT else ("#eef2ff", "#4338ca")
    lines = "".join(
        f'<tspan x="{num(n.x + PAD)}" y="{num(n.y + PAD + (i + 1) * LINE_H - 4)}">{esc(line)}</tspan>'
        for i, line in enumerate(n.lines)
    )
    return (
        f'<g><title>{esc(n.label)}</title><rect x="{num(n.x)}" y="{num(n.y)}" width="{NODE_W}" '
        f'height="{num(n.height)}" rx="6" fill="{fill}" stroke="{stroke}"/>'
        f'<text font-size="{FONT}" fill="#111827">{lines}</text></g>'
    )


def causal_graph_svg(incident: Incident) -> Markup | None:
    """The analysis' contributing factors as an inline SVG graph, or None when it has none."""
    if incident.analysis is None or not incident.analysis.contributing_factors:
        return None
    nodes, edges, width, height = layout(incident)
    arrow = (
        '<defs><marker id="pm-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>'
    )
    body = [arrow, *(_edge(s, d) for s, d in edges), *(_node(n) for n in nodes)]
    return svg(width, height, body, label=f"Causal graph of {incident.id}: contributing factors to the incident")
