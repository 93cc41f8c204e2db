"""A job's provenance (PROV-JSON, read with ``prov``) drawn as an SVG graph, offline.

The drawing follows the W3C PROV convention that ``prov``'s own graphviz output uses: entities are
yellow ellipses, activities blue boxes, agents orange house shapes, and the edges are the PROV
relations (``used``, ``wasGeneratedBy``, ``wasAssociatedWith``, ``wasAttributedTo``,
``wasInfluencedBy`` / ProvDM's ``wasConfiguredBy``). It needs no graphviz binary and no script:
a plain ``<svg>`` in an HTML widget, each node with a ``<title>`` (its attributes: obs id,
checksum, role...) shown on hover. Every text is escaped.

Columns, left to right: configuration (parameters, the definition), inputs (used), the activity,
its results (generated), and the agents (who and what ran it).
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
COLUMN_WIDTH, NODE_WIDTH, NODE_HEIGHT, GAP, MARGIN = 210, 176, 30, 10, 16
CONFIG_TYPES = {"voprov:Parameter", "voprov:ConfigFile", "voprov:ActivityDescription"}


@dataclass
class Node:
    id: str
    kind: str  # entity, activity or agent
    label: str
    attributes: dict[str, str] = field(default_factory=dict)
    column: int = 1
    x: float = 0.0
    y: float = 0.0


@dataclass
class Edge:
    source: str
    target: str
    relation: str
    role: str = ""


@dataclass
class Graph:
    nodes: dict[str, Node]
    edges: list[Edge]

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]


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
    from prov.model import (ProvActivity, ProvAgent, ProvAssociation, ProvAttribution, ProvDocument, ProvEntity,
                            ProvGeneration, ProvInfluence, ProvUsage)

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
                    edges.append(Edge(str(formal[source]), str(formal[target]), name, extra.get("prov:role", "")))
    graph = Graph(nodes, edges)
    _columns(graph)
    return graph


def _columns(graph: Graph) -> None:
    used = {e.target for e in graph.edges if e.relation == "used"}
    generated = {e.source for e in graph.edges if e.relation == "wasGeneratedBy"}
    for node in graph.nodes.values():
        if node.kind == "activity":
            node.column = 2
        elif node.kind == "agent":
            node.column = 4
        elif node.id in generated:
            node.column = 3
        elif node.attributes.get("prov:type") in CONFIG_TYPES and node.id not in used:
            node.column = 0
        else:
            node.column = 1
    columns: dict[int, list[Node]] = {}
    for node in graph.nodes.values():
        columns.setdefault(node.column, []).append(node)
    tallest = max((len(c) for c in columns.values()), default=1)
    height = tallest * (NODE_HEIGHT + GAP)
    for col, members in columns.items():
        top = MARGIN + (height - len(members) * (NODE_HEIGHT + GAP)) / 2
        for i, node in enumerate(members):
            node.x = MARGIN + col * COLUMN_WIDTH + NODE_WIDTH / 2
            node.y = top + i * (NODE_HEIGHT + GAP) + NODE_HEIGHT / 2


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


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


def to_svg(graph: Graph) -> str:
    """The graph as one ``<svg>`` element (text escaped, no script)."""
    columns = {n.column for n in graph.nodes.values()} or {0}
    width = MARGIN * 2 + (max(columns) + 1) * COLUMN_WIDTH
    height = MARGIN * 2 + max((n.y for n in graph.nodes.values()), default=0) + NODE_HEIGHT
    parts = [f"<svg class='portal-provenance-graph' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} "
             f"{height:.0f}' width='100%' style='max-width:{width:.0f}px;font:11px sans-serif'>",
             "<defs><marker id='prov-arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
             "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker></defs>"]
    for edge in graph.edges:
        a, b = graph.nodes.get(edge.source), graph.nodes.get(edge.target)
        if a is None or b is None:
            continue
        # PROV draws relations from the later thing to the earlier one (an activity used an entity)
        x1 = a.x + (NODE_WIDTH / 2 if b.x > a.x else -NODE_WIDTH / 2 if b.x < a.x else 0)
        x2 = b.x + (-NODE_WIDTH / 2 if b.x > a.x else NODE_WIDTH / 2 if b.x < a.x else 0)
        faint = " stroke-opacity='0.35'" if edge.relation == "wasAttributedTo" else ""
        parts.append(f"<line x1='{x1:.1f}' y1='{a.y:.1f}' x2='{x2:.1f}' y2='{b.y:.1f}' stroke='#555'{faint} "
                     f"marker-end='url(#prov-arrow)' class='prov-{html.escape(edge.relation)}'>"
                     f"<title>{html.escape(edge.relation + (f' ({edge.role})' if edge.role else ''))}</title></line>")
    for node in graph.nodes.values():
        parts.append(f"<g class='prov-node prov-{node.kind}'><title>{_title(node)}</title>{_shape(node)}"
                     f"<text x='{node.x:.1f}' y='{node.y + 4:.1f}' text-anchor='middle'>"
                     f"{html.escape(_short(node.label))}</text></g>")
    headings = {0: "configuration", 1: "used", 2: "activity", 3: "generated", 4: "agents"}
    for col in sorted(columns):
        parts.append(f"<text x='{MARGIN + col * COLUMN_WIDTH + NODE_WIDTH / 2:.0f}' y='11' text-anchor='middle' "
                     f"fill='#777'>{headings.get(col, '')}</text>")
    parts.append("</svg>")
    return "".join(parts)


def inputs_table(graph: Graph) -> str:
    """An HTML table of the files used and generated: role, obs id, size, SHA-256 (escaped)."""
    roles = {(e.source if e.relation == "wasGeneratedBy" else e.target): (e.relation, e.role)
             for e in graph.edges if e.relation in ("used", "wasGeneratedBy")}
    rows = []
    for node_id, (relation, role) in roles.items():
        node = graph.nodes.get(node_id)
        if node is None:
            continue
        a = node.attributes
        cells = ["used" if relation == "used" else "generated", role, node.label, a.get("portal:obs_id", ""),
                 a.get("portal:size", ""), a.get("portal:sha256", "")]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("", "role", "file", "obs id", "bytes", "SHA-256"))
    return (f"<table class='portal-provenance-files' style='font-size:11px'><tr>{head}</tr>{''.join(rows)}</table>"
            if rows else "")
