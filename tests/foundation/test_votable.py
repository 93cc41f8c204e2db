"""VOTable output never goes through astropy's C TABLEDATA writer (heap corruption, astropy #20419)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io.votable import parse_single_table, tree
from astropy.table import MaskedColumn, Table

from portal.datalink.votable import Link, datalink_votable
from portal.votable import to_xml_bytes
from widgets.obscore.export import to_bytes


@pytest.fixture
def no_c_writer(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("astropy's C TABLEDATA writer was used")

    monkeypatch.setattr(tree.tablewriter, "write_tabledata", refuse)


def _table() -> Table:
    return Table({"obs_id": [23523, 23526], "target": ["Crab & <friends>", "Crab"],
                  "livetime": MaskedColumn([1580.0, np.nan], mask=[False, True])})


@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_documents_round_trip_without_the_c_writer(no_c_writer, serialization):
    body = to_xml_bytes(tree.VOTableFile.from_table(_table()), serialization)
    back = parse_single_table(io.BytesIO(body)).to_table()
    assert list(back["obs_id"]) == [23523, 23526]
    assert back["target"][0] == "Crab & <friends>"
    assert back["livetime"].mask[1] and back["livetime"][0] == 1580.0


def test_datalink_documents_without_the_c_writer(no_c_writer):
    body = datalink_votable([Link("ivo://x?a/1", access_url="http://h/data?ID=1", content_length=None),
                             Link("ivo://x?a/1", access_url="http://h/data?ID=1&HDU=events", content_length=42)], [])
    table = parse_single_table(io.BytesIO(body)).to_table()
    assert list(table["access_url"]) == ["http://h/data?ID=1", "http://h/data?ID=1&HDU=events"]
    assert table["content_length"].mask[0] and table["content_length"][1] == 42


def test_widget_export_without_the_c_writer(no_c_writer):
    back = parse_single_table(io.BytesIO(to_bytes(_table(), "VOTable"))).to_table()
    assert list(back["target"]) == ["Crab & <friends>", "Crab"]
