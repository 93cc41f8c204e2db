"""The job monitor's provenance graph (issue 21, point 10: its right column was clipped): a record written by
the job service's own ProvDM writer, laid out in three columns narrow enough for the Portal's left column at
1280x800 (about 490 px), no node over another, no edge through a node, every text escaped, and the table of
files no wider than its box."""

import re
from datetime import datetime, timezone

import pytest

from portal.provenance.record import LEFT_OUT, ProvenanceInfo, build
from widgets.jobs.provenance import (LABEL_CHARACTERS, NODE_HEIGHT, NODE_WIDTH, WIDTH, inputs_table, parse,
                                     to_svg)

BOX_AT_1280 = 490  # px: the width of the job detail's Provenance tab in the Portal at 1280x800
SHA = "8fa116b78658319ce744e22794d1054cd18476c363c67ec707dd28d1c02c46c7"


def sha(i: int) -> str:
    """A SHA-256 of its own (the service names each input file by its checksum)."""
    return f"{i:02d}" + SHA[2:]


def record(parameters: int = 19, runs=("023523", "023526", "023559", "023592")) -> str:
    """PROV-JSON of a spectrum job as the job service writes it."""
    params = [("obs_ids", ",".join(r.lstrip("0") for r in runs), None), ("ra", "83.63308", "deg"),
              ("containment_correction", "true", None)]
    params += [(f"option_{i}", str(i), None) for i in range(parameters - len(params))]
    inputs = [{"path": f"/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_{r}.fits.gz", "role": "dl3", "sha256": sha(i),
               "attributes": {"obs_id": int(r)}} for i, r in enumerate(runs)]
    inputs += [{"path": "/data/hess-dl3-dr1/hdu-index.fits.gz", "role": "index", "sha256": sha(10)},
               {"path": "/data/catalogs/cat<b>odd.fits", "role": "catalog", "sha256": sha(11)},
               {"path": "/data/hess_dl3_dr1_obs_id_020136.fits.gz", "role": LEFT_OUT, "sha256": sha(12),
                "attributes": {"obs_id": 20136, "reason": "no counts in the safe range"}}]
    results = [{"id": name, "path": f"{name}.fits", "mime_type": "application/fits", "size": 1000 + i,
                "sha256": SHA} for i, name in enumerate(("flux_points", "model", "datasets", "inputs", "log"))]
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    info = ProvenanceInfo("0542d75d7917377073260baf", "spectrum", "1D spectrum", "alice", "COMPLETED", when, when,
                          params, inputs, results, config={"workers": 2})
    return build(info).serialize(format="json")


@pytest.fixture(scope="module")
def graph():
    return parse(record())


def test_three_columns_what_went_in_the_activity_and_its_agents_what_came_out(graph):
    groups = {n.label: (n.group, n.column) for n in graph.nodes.values()}
    assert groups["hess_dl3_dr1_obs_id_023523.fits.gz"] == ("used", 0)
    assert groups["hess_dl3_dr1_obs_id_020136.fits.gz"] == ("left-out", 0)
    assert groups["ra = 83.63308"] == ("configuration", 0)
    assert groups["spectrum job"] == ("activity", 1)
    assert groups["alice"] == ("agent", 1) and groups["gamma-portal job service"] == ("agent", 1)
    assert {groups[name] for name in ("flux_points", "model", "log")} == {("generated", 2)}
    assert [h[2] for h in graph.headings] == ["used", "left out", "configuration", "activity", "agents",
                                              "generated"]


def test_the_graph_fits_the_portals_left_column_at_1280x800(graph):
    assert graph.width == WIDTH <= 560
    assert 11 * min(1.0, BOX_AT_1280 / WIDTH) >= 9.5  # the labels' size once scaled to the box (px)
    svg = to_svg(graph)
    assert f"viewBox='0 0 {WIDTH} {graph.height:.0f}'" in svg
    assert "width='100%'" in svg and f"max-width:{WIDTH}px" in svg and "height:auto" in svg
    boxes = [(n.x - NODE_WIDTH / 2, n.y - NODE_HEIGHT / 2, n.x + NODE_WIDTH / 2, n.y + NODE_HEIGHT / 2)
             for n in graph.nodes.values()]
    for left, top, right, bottom in boxes:  # every node inside the drawing
        assert 0 <= left and right <= graph.width and 0 <= top and bottom <= graph.height
    for i, a in enumerate(boxes):  # no node over another
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # the activity sits beside the files it used, not below the twenty parameters
    activity = next(n for n in graph.nodes.values() if n.kind == "activity")
    used = [n for n in graph.nodes.values() if n.group == "used"]
    assert min(n.y for n in used) <= activity.y <= max(n.y for n in used)


def test_edges_run_in_the_gaps_and_never_through_a_node(graph):
    svg = to_svg(graph)
    lanes = re.findall(r"<polyline class='prov-lane'[^>]* points='([^']*)'", svg)
    assert len(lanes) == len(graph.edges) == svg.count("marker-end=")
    spans = [(n.x - NODE_WIDTH / 2, n.x + NODE_WIDTH / 2) for n in graph.nodes.values()]
    for points in lanes:
        (_x0, _y0), (lane, y1), (lane2, y2) = [tuple(map(float, p.split(","))) for p in points.split()]
        assert lane == lane2
        if y1 != y2:  # the vertical piece lies between the columns
            assert not any(left < lane < right for left, right in spans), lane
    assert svg.count("class='prov-used'") == 6  # the four runs, the index, the catalog (not the left-out run)


def test_labels_are_short_and_every_text_is_escaped(graph):
    svg = to_svg(graph)
    texts = re.findall(r"<text [^>]*text-anchor='middle'>([^<]*)</text></g>", svg)
    assert texts and all(len(t.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")) <= LABEL_CHARACTERS
                         for t in texts)
    assert "hess_d\u2026023523.fits.gz" in texts  # the obs id stays
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "0542d75d7917377073260baf" in svg  # the job id, in the activity's title


def test_the_files_table_wraps_its_long_cells(graph):
    table = inputs_table(graph)
    assert "width:100%" in table and "overflow-x:auto" in table
    assert table.count("word-break:break-all") >= 2 * 11  # file names and hashes of 6 used and 5 generated
    assert "<b>" not in table and sha(10) in table
