"""A job's provenance (PROV-JSON, read with ``prov``) drawn as an SVG graph, offline.

The drawing follows the W3C PROV convention that ``prov``'s own graphviz output uses: entities are
yellow ellipses, activities blue boxes, agents orange house shapes, and the edges are the PROV
relations (``used``, ``wasGeneratedBy``, ``wasAssociatedWith``, ``wasAttributedTo``,
``wasInfluencedBy`` / ProvDM's ``wasConfiguredBy``). It needs no graphviz binary and no script:
a plain ``<svg>`` in an HTML widget, each node with a ``<title>`` (its attributes: obs id,
checksum, role...) shown on hover. Every text is escaped.

Three columns, left to right, so that the graph stays readable in the Portal's narrow left column
(about 500 px at 1280x800: the SVG scales to its box's width, and its natural width, :data:`WIDTH`, is
little more than that): what went in (the files used, those left out, the configuration), the activity
with the agents who and what ran it below it, and its results (generated). Labels are cut near their start
("hess_d…023523.fits.gz" keeps the obs id); the full text is in the node's ``<title>``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

__all__ = ["Graph", "parse", "to_svg", "inputs_table"]

# prov.dot's styles (W3C PROV convention)
STYLE = {
    "entity": {"fill": "#FFFC87", "stroke": "#808080"},
    "activity": {"fill": "#9FB1FC", "stroke": "#0000FF"},
    "agent": {"fill": "#FED37F", "stroke": "#000000"},
}
NODE_WIDTH, NODE_HEIGHT, GAP, COLUMN_GAP, MARGIN, HEADING = 156, 26, 6, 34, 12, 22
COLUMN_WIDTH = NODE_WIDTH + COLUMN_GAP
WIDTH = 2 * MARGIN + 3 * NODE_WIDTH + 2 * COLUMN_GAP  # the SVG's natural width (px)
LABEL_CHARACTERS = 21  # at 11 px, what fits in a node
CONFIG_TYPES = {"voprov:Parameter", "voprov:ConfigFile", "voprov:ActivityDescription"}
# the groups, top to bottom in their column, with their headings
GROUPS = (("used", 0, "used"), ("left-out", 0, "left out"), ("configuration", 0, "configuration"),
          ("activity", 1, "activity"), ("agent", 1, "agents"), ("generated", 2, "generated"))


@dataclass
class Node:
    id: str
    kind: str  # entity, activity or agent
    label: str
    attributes: dict[str, str] = field(default_factory=dict)
    group: str = "used"
    column: int = 0
    x: float = 0.0
    y: float = 0.0


@dataclass
class Edge:
    source: str
    target: str
    relation: str
    role: str = ""
    kind: str = ""  # the relation's prov:type (voprov:wasConfiguredBy, portal:leftOut...)


@dataclass
class Graph:
    nodes: dict[str, Node]
    edges: list[Edge]
    headings: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, text
    width: float = WIDTH
    height: float = 0.0


def _text(value) -> str:
    return str(getattr(value, "localpart", None) and value or value)


def _attributes(record) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in record.extra_attributes:
        key = str(name)
        out[key] = f"{out[key]}, {value}" if key in out else str(value)
    return out


def parse(prov_json: str) -> Graph:
    """The graph of a PROV-JSON document (raises ValueError when it is not one)."""
    from prov.model import (
        ProvActivity,
        ProvAgent,
        ProvAssociation,
        ProvAttribution,
        ProvDocument,
        ProvEntity,
        ProvGeneration,
        ProvInfluence,
        ProvUsage,
    )

    try:
        doc = ProvDocument.deserialize(content=prov_json, format="json")
    except Exception as exc:  # noqa: BLE001 - prov raises many kinds on a bad document
        raise ValueError(f"not a PROV-JSON document ({type(exc).__name__})") from None
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    kinds = ((ProvEntity, "entity"), (ProvActivity, "activity"), (ProvAgent, "agent"))
    for record in doc.get_records():
        for cls, kind in kinds:
            if isinstance(record, cls):
                attrs = _attributes(record)
                label = attrs.get("prov:label") or attrs.get("voprov:name") or record.identifier.localpart
                if attrs.get("prov:type") == "voprov:ActivityDescription":
                    label = f"definition {attrs.get('voprov:name', label)}"
                if kind == "activity" and attrs.get("portal:jobId") and attrs.get("voprov:name"):
                    label = f"{attrs['voprov:name']} job"  # its id (the detail's header says it) in its title
                nodes[str(record.identifier)] = Node(str(record.identifier), kind, label, attrs)
    relations = ((ProvUsage, "used", "prov:activity", "prov:entity"),
                 (ProvGeneration, "wasGeneratedBy", "prov:entity", "prov:activity"),
                 (ProvAssociation, "wasAssociatedWith", "prov:activity", "prov:agent"),
                 (ProvAttribution, "wasAttributedTo", "prov:entity", "prov:agent"),
                 (ProvInfluence, "wasInfluencedBy", "prov:influencee", "prov:influencer"))
    for record in doc.get_records():
        for cls, relation, source, target in relations:
            if isinstance(record, cls):
                formal = {str(k): v for k, v in record.formal_attributes}
                extra = _attributes(record)
                kind = extra.get("prov:type", "")
                name = "wasConfiguredBy" if kind.endswith("wasConfiguredBy") else (
                    "isDescribedBy" if kind.endswith("isDescribedBy") else relation)
                if formal.get(source) is not None and formal.get(target) is not None:
                    edges.append(Edge(str(formal[source]), str(formal[target]), name, extra.get("prov:role", ""),
                                      kind))
    graph = Graph(nodes, edges)
    _columns(graph)
    return graph


def _group(node: Node, used: set[str], generated: set[str], left_out: set[str]) -> str:
    if node.kind in ("activity", "agent"):
        return node.kind
    if node.id in generated:
        return "generated"
    if node.id in used:
        return "used"
    if node.id in left_out:
        return "left-out"
    if node.attributes.get("prov:type") in CONFIG_TYPES:
        return "configuration"
    return "used"


def _columns(graph: Graph) -> None:
    """Place the nodes: each column a stack of its groups (a heading, then the nodes). The columns start at
    the top, the shorter ones centred beside the first group of the tallest (the files used), so that the
    activity, what it used and what it generated are seen together without scrolling."""
    used = {e.target for e in graph.edges if e.relation == "used"}
    generated = {e.source for e in graph.edges if e.relation == "wasGeneratedBy"}
    left_out = {e.target for e in graph.edges if e.relation == "wasInfluencedBy" and e.kind.endswith("leftOut")}
    members: dict[str, list[Node]] = {}
    for node in graph.nodes.values():
        node.group = _group(node, used, generated, left_out)
        members.setdefault(node.group, []).append(node)
    pitch = NODE_HEIGHT + GAP
    stacks: dict[int, list[tuple[str, str, list[Node]]]] = {}
    for group, column, heading in GROUPS:
        if members.get(group):
            stacks.setdefault(column, []).append((group, heading, members[group]))
    heights = {col: sum(HEADING + len(nodes) * pitch for _g, _h, nodes in groups) for col, groups in stacks.items()}
    tallest = max(heights.values(), default=0)
    first = min((HEADING + len(groups[0][2]) * pitch for groups in stacks.values()
                 if sum(HEADING + len(n) * pitch for _g, _h, n in groups) == tallest), default=0)
    graph.headings = []
    for col, groups in stacks.items():
        x = MARGIN + col * COLUMN_WIDTH + NODE_WIDTH / 2
        y = MARGIN + (max(0.0, (first - heights[col]) / 2) if heights[col] < tallest else 0.0)
        for _group_name, heading, nodes in groups:
            graph.headings.append((x, y + HEADING - 8, heading))
            y += HEADING
            for node in nodes:
                node.column, node.x, node.y = col, x, y + NODE_HEIGHT / 2
                y += pitch
    graph.width = WIDTH
    graph.height = 2 * MARGIN + tallest


def _short(text: str, limit: int = LABEL_CHARACTERS) -> str:
    """``text`` cut to ``limit`` characters, more of its end kept than of its start (the end tells files
    apart: "hess_d…023523.fits.gz")."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 3
    return text[:head] + "\u2026" + text[len(text) - (limit - 1 - head):]


def _shape(node: Node) -> str:
    style = STYLE[node.kind]
    paint = f"fill='{style['fill']}' stroke='{style['stroke']}'"
    x, y, w, h = node.x, node.y, NODE_WIDTH, NODE_HEIGHT
    if node.kind == "entity":
        return f"<ellipse cx='{x:.1f}' cy='{y:.1f}' rx='{w / 2:.1f}' ry='{h / 2:.1f}' {paint}/>"
    if node.kind == "activity":
        return f"<rect x='{x - w / 2:.1f}' y='{y - h / 2:.1f}' width='{w}' height='{h}' {paint}/>"
    roof = h * 0.35  # a house: a pentagon with its roof up
    points = [(x - w / 2, y + h / 2), (x + w / 2, y + h / 2), (x + w / 2, y - h / 2 + roof), (x, y - h / 2),
              (x - w / 2, y - h / 2 + roof)]
    return "<polygon points='" + " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + f"' {paint}/>"


def _title(node: Node) -> str:
    lines = [f"{node.kind}: {node.id}"] + [f"{k}: {v}" for k, v in sorted(node.attributes.items())]
    return html.escape("\n".join(lines))


def _route(a: Node, b: Node) -> tuple[list[tuple[float, float]], tuple[float, float, float, float]]:
    """The way from ``a`` to ``b`` drawn at right angles: a polyline from ``a``'s side to a vertical lane,
    along it, and the last straight piece (which carries the arrow) into ``b``'s side. Between columns the
    lane runs midway in the gap; within a column (the activity and its agents) just left of the nodes,
    so that no edge crosses a node."""
    if a.column == b.column:
        lane = a.x - NODE_WIDTH / 2 - 8
        start, end = (a.x - NODE_WIDTH / 2, a.y), (b.x - NODE_WIDTH / 2, b.y)
    else:
        right = 1 if b.x > a.x else -1
        start, end = (a.x + right * NODE_WIDTH / 2, a.y), (b.x - right * NODE_WIDTH / 2, b.y)
        lane = (start[0] + end[0]) / 2
    return [start, (lane, a.y), (lane, b.y)], (lane, b.y, end[0], end[1])


def to_svg(graph: Graph) -> str:
    """The graph as one ``<svg>`` element (text escaped, no script), as wide as its box up to its natural
    width (:data:`WIDTH`): it scales down with its box, never past it."""
    width, height = graph.width, max(graph.height, 2 * MARGIN + NODE_HEIGHT)
    parts = [f"<svg class='portal-provenance-graph' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} "
             f"{height:.0f}' width='100%' preserveAspectRatio='xMinYMin meet' "
             f"style='display:block;max-width:{width:.0f}px;height:auto;font:11px sans-serif'>",
             "<defs><marker id='prov-arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
             "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker></defs>"]
    for edge in graph.edges:
        a, b = graph.nodes.get(edge.source), graph.nodes.get(edge.target)
        if a is None or b is None:
            continue
        # PROV draws relations from the later thing to the earlier one (an activity used an entity)
        lane, (x1, y1, x2, y2) = _route(a, b)
        faint = " stroke-opacity='0.35'" if edge.relation == "wasAttributedTo" else ""
        parts.append("<polyline class='prov-lane' fill='none' stroke='#555'" + faint + " points='"
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in lane) + "'/>")
        parts.append(f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='#555'{faint} "
                     f"marker-end='url(#prov-arrow)' class='prov-{html.escape(edge.relation)}'>"
                     f"<title>{html.escape(edge.relation + (f' ({edge.role})' if edge.role else ''))}</title></line>")
    for node in graph.nodes.values():
        parts.append(f"<g class='prov-node prov-{node.kind}'><title>{_title(node)}</title>{_shape(node)}"
                     f"<text x='{node.x:.1f}' y='{node.y + 4:.1f}' text-anchor='middle'>"
                     f"{html.escape(_short(node.label))}</text></g>")
    for x, y, text in graph.headings:
        parts.append(f"<text class='prov-heading' x='{x:.0f}' y='{y:.0f}' text-anchor='middle' "
                     f"fill='#666'>{html.escape(text)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def inputs_table(graph: Graph) -> str:
    """An HTML table of the files used and generated: role, obs id, size, SHA-256 (escaped). Long names and
    the hashes wrap inside their cells, so the table is never wider than its box."""
    roles = {(e.source if e.relation == "wasGeneratedBy" else e.target): (e.relation, e.role)
             for e in graph.edges if e.relation in ("used", "wasGeneratedBy")}
    wrap = "overflow-wrap:anywhere;word-break:break-all"
    rows = []
    for node_id, (relation, role) in roles.items():
        node = graph.nodes.get(node_id)
        if node is None:
            continue
        a = node.attributes
        cells = ["used" if relation == "used" else "generated", role, node.label, a.get("portal:obs_id", ""),
                 a.get("portal:size", "")]
        rows.append("<tr>" + "".join(f"<td style='{wrap + ';min-width:7em' if i == 2 else ''}'>"
                                     f"{html.escape(str(c))}</td>" for i, c in enumerate(cells))
                    + f"<td style='{wrap};font-family:monospace;min-width:8em'>"
                      f"{html.escape(a.get('portal:sha256', ''))}</td></tr>")
    head = "".join(f"<th style='white-space:nowrap'>{h}</th>" for h in ("", "role", "file", "obs id", "bytes",
                                                                          "SHA-256"))
    return (f"<div style='max-width:100%;overflow-x:auto'><table class='portal-provenance-files' "
            f"style='font-size:11px;width:100%'><tr>{head}</tr>{''.join(rows)}</table></div>" if rows else "")
