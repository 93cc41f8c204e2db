"""Result documents: the fast BINARY2 writer gives astropy's bytes; CSV/TSV; error documents."""

import io

import numpy as np
import pytest
from astropy.io.votable import parse
from astropy.io.votable.tree import Field, Resource, TableElement, VOTableFile

from portal.archive.adql.types import OutputColumn, meta
from portal.archive.binary2 import FastTableElement
from portal.archive.output import FORMATS, find_format, render, votable_error


def _table(cls, rows):
    votable = VOTableFile(version="1.4")
    resource = Resource(type="results")
    votable.resources.append(resource)
    table = cls(votable, name="t")
    resource.tables.append(table)
    table.fields.extend([
        Field(votable, name="s", datatype="char", arraysize="*"),
        Field(votable, name="u", datatype="unicodeChar", arraysize="*"),
        Field(votable, name="i", datatype="long"), Field(votable, name="j", datatype="int"),
        Field(votable, name="h", datatype="short"), Field(votable, name="f", datatype="float"),
        Field(votable, name="d", datatype="double"), Field(votable, name="b", datatype="boolean"),
        Field(votable, name="p", datatype="double", arraysize="2", xtype="point"),
    ])
    for f in table.fields[2:5]:
        f.values.null = -1
    table.create_arrays(len(rows))
    for k, row in enumerate(rows):
        for name, value in zip("suijhfdbp", row):
            table.array[name][k] = value
    rng = np.random.default_rng(5)
    for name in "suijhfdp":
        table.array.mask[name][rng.uniform(0, 1, len(rows)) < 0.2] = True
    return votable


@pytest.mark.parametrize("n", [0, 1, 37])
def test_fast_binary2_matches_astropy(n):
    rng = np.random.default_rng(n)
    rows = [(f"row {k}", "é" * (k % 3), int(rng.integers(-1e12, 1e12)), int(rng.integers(-1e9, 1e9)),
             int(rng.integers(-3e4, 3e4)), float(rng.normal()), float(rng.normal()) * 1e300, bool(k % 2),
             (rng.uniform(0, 360), rng.uniform(-90, 90))) for k in range(n)]
    outputs = []
    for cls in (TableElement, FastTableElement):
        buf = io.BytesIO()
        _table(cls, rows).to_xml(buf, tabledata_format="binary2")
        outputs.append(buf.getvalue())
    assert outputs[0] == outputs[1]


def test_separated_values_and_formats():
    columns = [OutputColumn(meta("name", "char"), "c1"), OutputColumn(meta("x", "double"), "c2"),
               OutputColumn(meta("p", "double", "2", "point"), "c3", "point")]
    rows = [("a,b", 1.5, "POINT ICRS 1.0 2.0"), ("tab\there", None, None)]
    csv = render(find_format("csv"), columns, rows, False).decode()
    assert csv.splitlines() == ["name,x,p", '"a,b",1.5,1.0 2.0', "tab\there,,"]
    tsv = render(find_format("text/tab-separated-values"), columns, rows, False).decode()
    assert tsv.splitlines()[2] == "tab here\t\t"
    assert find_format("application/x-votable+xml;serialization=TABLEDATA").name == "votable/td"
    assert find_format(None) is FORMATS[0] and find_format("fits") is None


def test_error_document():
    votable = parse(io.BytesIO(votable_error("it went wrong <here> & there")))
    info = votable.resources[0].infos[0]
    assert votable.resources[0].type == "results"
    assert (info.name, info.value, info.content) == ("QUERY_STATUS", "ERROR", "it went wrong <here> & there")


@pytest.mark.parametrize("fmt", ["votable", "votable/td"])
def test_kept_field_xml_is_astropys(monkeypatch, fmt):
    """Result documents written again from a template (FIELD text kept) are byte for byte the
    documents astropy writes from scratch."""
    from portal.archive import output

    columns = [OutputColumn(meta("obs_id", "long", description="Observation id, unique in its collection "
                                 "& <collection>, as in the release's obs-index"), "c1"),
               OutputColumn(meta("target_name", "char", "*", ucd="meta.id;src"), "c2"),
               OutputColumn(meta("s_ra", "double", unit="deg", ucd="pos.eq.ra"), "c3")]
    batches = [[(23523 + k, f"Crab {k}", 83.6 + k) for k in range(n)] for n in (1, 3, 2)]
    templates = output.OrderedDict()
    monkeypatch.setattr(output, "_TEMPLATES", templates)
    kept = [render(find_format(fmt), columns, rows, False) for rows in batches]
    (template,) = templates.values()
    assert all(field._kept for field in template.table.fields)  # the later documents used the kept text
    fresh = []
    for rows in batches:
        monkeypatch.setattr(output, "_TEMPLATES", output.OrderedDict())  # a new template: nothing kept
        fresh.append(render(find_format(fmt), columns, rows, False))
    assert kept == fresh
    assert b"&amp; &lt;collection&gt;" in kept[1] and kept[1].count(b"<FIELD") == 3


@pytest.mark.parametrize("overflow", [False, "cut at the output limit"])
def test_kept_binary2_document_is_astropys(monkeypatch, overflow):
    """BINARY2 results written from the kept document (its text around the rows' stream) are byte for
    byte what astropy writes for the whole document, with and without rows, masked cells and OVERFLOW."""
    from portal.archive import output
    from portal.votable import to_xml_bytes

    columns = [OutputColumn(meta("obs_id", "char", "*"), "c1"), OutputColumn(meta("n", "long"), "c2"),
               OutputColumn(meta("s_ra", "double", unit="deg"), "c3"),
               OutputColumn(meta("s_region", "char", "*", "adql:REGION"), "c4", "circle")]
    batches = [[], [("a", 1, 83.6, "CIRCLE ICRS 83.6 22.0 1.5")],
               [(f"é {k}", None if k % 2 else k, None if k % 3 else k / 7, None if k % 4 else
                 f"CIRCLE ICRS {k} 1 2") for k in range(7)], []]
    monkeypatch.setattr(output, "_TEMPLATES", output.OrderedDict())
    for rows in batches:
        kept = render(find_format("votable"), columns, rows, overflow)
        unicode = tuple(c.meta.datatype == "char" and output._non_ascii(rows, i) for i, c in enumerate(columns))
        fresh = output._Template(columns, unicode)  # nothing kept: astropy writes the whole document
        output._fill(fresh.table, columns, rows, output._no_check)
        whole = to_xml_bytes(fresh.votable, "binary2")
        assert kept == (output._mark_overflow(whole, overflow) if overflow else whole)
        assert (b"<DATA>" in kept) == bool(rows)
        table = parse(io.BytesIO(kept)).get_first_table().to_table()
        assert len(table) == len(rows)
