"""gzip from `portal serve` (issue 22): VOTables, UWS, VOSI and DataLink documents are compressed for clients
that accept gzip, the same documents as sent plain; clients that do not get them plain; files and byte ranges
go as they are."""

from __future__ import annotations

import gzip
import io
import time

import httpx
from astropy.io.votable import parse_single_table

from portal.serving.compression import MINIMUM_SIZE


def _wire(client: httpx.Client, method: str, url: str, **kwargs) -> tuple[httpx.Response, bytes]:
    """The response and the bytes on the wire (before any content decoding)."""
    with client.stream(method, url, **kwargs) as response:
        raw = b"".join(response.iter_raw())
    return response, raw


def _table(content: bytes):
    table = parse_single_table(io.BytesIO(content))
    return [f.name for f in table.fields], table.array


def _same_rows(a, b) -> bool:
    """Two tables with the same columns and values (NaN equal to NaN, masked to masked)."""
    import numpy as np

    (names_a, rows_a), (names_b, rows_b) = a, b
    if names_a != names_b or len(rows_a) != len(rows_b):
        return False
    for name in names_a:
        x, y = rows_a[name], rows_b[name]
        if not (np.ma.getmaskarray(x) == np.ma.getmaskarray(y)).all():
            return False
        x, y = np.ma.filled(x, 0) if x.dtype.kind != "O" else x, np.ma.filled(y, 0) if y.dtype.kind != "O" else y
        same = (x == y) | ((x != x) & (y != y)) if x.dtype.kind == "f" else (np.asarray(x) == np.asarray(y))
        if not np.all(same):
            return False
    return True


def _completed(client: httpx.Client, url: str) -> str:
    """``url``, once its job has completed."""
    deadline = time.monotonic() + 120
    while (phase := client.get(url + "/phase").text) != "COMPLETED":
        assert phase in ("PENDING", "QUEUED", "EXECUTING") and time.monotonic() < deadline, phase
        client.get(url, params={"WAIT": "5", "PHASE": phase})
    return url


def test_documents_are_gzipped_for_clients_that_accept_it(portal, cases):
    where = "WHERE obs_collection = 'hess-dl3-dr1'" if portal.has_dr1 else ""
    query = {"LANG": "ADQL", "QUERY": f"SELECT * FROM ivoa.obscore {where}"}
    with httpx.Client(base_url=portal.url, timeout=60, headers=portal.headers("alice")) as client:
        plain, plain_wire = _wire(client, "GET", "/tap/sync", params=query, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        names, rows = _table(plain_wire)
        assert len(rows) == (105 if portal.has_dr1 else 500)
        for accept in ("gzip", "gzip, deflate, br", "deflate;q=1, gzip;q=0.5", "*"):
            zipped, wire = _wire(client, "GET", "/tap/sync", params=query, headers={"Accept-Encoding": accept})
            assert zipped.headers["content-encoding"] == "gzip" and "accept-encoding" in zipped.headers["vary"].lower()
            assert len(wire) < len(plain_wire) / 3, (len(wire), len(plain_wire))
            assert gzip.decompress(wire) == plain_wire  # the same VOTable, byte for byte
            cases()
        for refuse in ("identity", "gzip;q=0", "br", ""):
            response, wire = _wire(client, "GET", "/tap/sync", params=query, headers={"Accept-Encoding": refuse})
            assert "content-encoding" not in response.headers and len(wire) == len(plain_wire), refuse
            cases()
        # the other documents (those of 1 KiB or more; smaller ones go plain)
        did = str(rows["obs_publisher_did"][0])
        job = _completed(client, client.post("/uws/count", data={"n": "3", "interval": "0", "PHASE": "RUN"},
                                             follow_redirects=False).headers["location"])  # its document stays
        for path, params in (("/datalink", {"ID": did}), ("/uws/count", {}), (job, {}),
                             ("/tap/capabilities", {}), ("/tap/tables", {}), ("/uws", {}), ("/tap/examples", {})):
            zipped, wire = _wire(client, "GET", path, params=params, headers={"Accept-Encoding": "gzip"})
            plain = client.get(path, params=params, headers={"Accept-Encoding": "identity"})
            assert zipped.status_code == plain.status_code == 200, path
            assert "content-encoding" not in plain.headers, path
            if len(plain.content) >= MINIMUM_SIZE:  # decided by the plain size, not by what the server did
                assert zipped.headers.get("content-encoding") == "gzip", (path, len(plain.content))
                assert len(wire) < len(gzip.decompress(wire)), path
            else:
                assert "content-encoding" not in zipped.headers and len(wire) < MINIMUM_SIZE, path
            cases()
        # a compressed job document's ETag is weak, and still answers If-None-Match
        zipped = client.get(job, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers.get("content-encoding") == "gzip", len(zipped.content)  # a job document is > 1 KiB
        etag = zipped.headers["etag"]
        assert etag.startswith('W/"')
        assert client.get(job, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}).status_code == 304
        cases()
        # a TAP async result (the same VOTable) is compressed whole, not a byte range of it
        tap = _completed(client, client.post("/tap/async", data={**query, "PHASE": "RUN"},
                                             follow_redirects=False).headers["location"])
        whole, wire = _wire(client, "GET", tap + "/results/result", headers={"Accept-Encoding": "gzip"})
        assert whole.headers["content-encoding"] == "gzip" and "accept-ranges" not in whole.headers
        assert len(wire) < len(plain_wire) / 3 and _same_rows(_table(gzip.decompress(wire)), (names, rows))
        ranged = client.get(tap + "/results/result", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
        assert ranged.status_code == 206 and "content-encoding" not in ranged.headers and len(ranged.content) == 100
        cases(2)
        if portal.has_dr1:  # files go as they are
            fits = client.get("/data", params={"ID": did, "HDU": "events"}, headers={"Accept-Encoding": "gzip"})
            assert fits.status_code == 200 and "content-encoding" not in fits.headers, fits.text[:200]
            assert fits.content[:6] == b"SIMPLE"
            cases()
