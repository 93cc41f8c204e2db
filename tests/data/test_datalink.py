"""DataLink for every archived observation, and the files behind the links."""

from __future__ import annotations

import gzip
import io
import sqlite3
from urllib.parse import quote, urlsplit

import pytest
from astropy.io import fits
from astropy.io.votable import parse
from pyvo.dal.adhoc import DatalinkResults

from portal.archive.store import db_path
from portal.datalink.votable import DATALINK


CRAB = "ivo://gamma-portal/archive?hess-dl3-dr1/23523"
EXPECTED = {"dl3": "#this", "events": "#auxiliary", "gti": "#auxiliary", "aeff": "#calibration",
            "edisp": "#calibration", "psf": "#calibration", "bkg": "#calibration",
            "counts-map": "#preview-image", "spectrum": "#proc"}


def all_rows(data_dir):
    with sqlite3.connect(db_path(data_dir)) as conn:
        return conn.execute('SELECT "obs_publisher_did", "access_path", "obs_number", "target_name" '
                            'FROM "ivoa.obscore" ORDER BY "_id"').fetchall()


def links(client, did=None, url=None):
    response = client.get(url) if url else client.get("/datalink", params={"ID": did})
    assert response.status_code == 200
    assert response.headers["content-type"] == DATALINK
    votable = parse(io.BytesIO(response.content), verify="exception")  # valid VOTable, no warnings
    return DatalinkResults(votable)


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@pytest.mark.requires_data
def test_access_url_of_every_row_points_to_datalink(dr1_archive):
    rows = all_rows(dr1_archive)
    assert len(rows) == 106
    for did, access_path, _, _ in rows:
        assert access_path == "/datalink?ID=" + quote(did, safe="")


@pytest.mark.requires_data
def test_every_datalink_row_resolves(client, dr1_archive):
    """Each observation lists its DL3 file, six HDUs, a preview and a job; every link answers as announced.

    Previews are drawn (about 0.5 s each) for every tenth observation and the simulated one only.
    """
    for n, (did, access_path, _, _) in enumerate(all_rows(dr1_archive)):
        result = links(client, url=access_path)
        table = result.to_table()
        assert set(table["ID"]) == {did}
        kinds = {str(r["local_semantics"]): str(r["semantics"]) for r in table}
        assert kinds == EXPECTED, did
        for row in table:
            if row["semantics"] == "#proc":
                continue
            if row["local_semantics"] == "counts-map" and n % 10 and "tiny" not in did:
                continue
            response = client.head(local(row["access_url"]))
            assert response.status_code == 200, (did, row["local_semantics"], response.text)
            assert response.headers["content-type"] == row["content_type"]
            if row["local_semantics"] != "counts-map":  # the preview's size is known once drawn
                assert int(response.headers["content-length"]) == int(row["content_length"])


@pytest.mark.requires_data
@pytest.mark.parametrize("did", [CRAB, "ivo://gamma-portal/archive?tiny-sim/100001"])
def test_link_contents(client, did):
    result = links(client, did)
    for row in result:
        if row.semantics == "#proc":
            continue
        response = client.get(local(row.access_url))
        assert response.status_code == 200
        body = response.content
        if row["local_semantics"] == "counts-map":
            assert body[:8] == b"\x89PNG\r\n\x1a\n"
            continue
        assert len(body) == int(row.content_length)
        if body[:2] == b"\x1f\x8b":
            assert row.content_type == "application/gzip"
            body = gzip.decompress(body)
        with fits.open(io.BytesIO(body)) as hdul:
            hdul.verify("exception")
            if row["local_semantics"] == "dl3":
                assert {"EVENTS", "GTI"} <= {h.name for h in hdul}
            else:
                assert len(hdul) == 2  # primary + the one HDU
                clas = hdul[1].header.get("HDUCLAS1")
                assert clas == {"events": "EVENTS", "gti": "GTI"}.get(row["local_semantics"], "RESPONSE")
    # once drawn, the preview's size is announced too
    again = links(client, did).to_table()
    preview = again[again["local_semantics"] == "counts-map"][0]
    assert int(preview["content_length"]) == len(client.get(local(preview["access_url"])).content)


@pytest.mark.requires_data
def test_single_hdu_files_are_what_gammapy_reads(client):
    from gammapy.data import EventList
    from gammapy.irf import load_irf_dict_from_file

    url = f"/data?ID={quote(CRAB, safe='')}&HDU="
    path = client.app.state.settings.data_dir / "events.fits"
    path.write_bytes(client.get(url + "events").content)
    events = EventList.read(path)
    assert events.table.meta["OBS_ID"] == 23523 and len(events.table) == 7613
    for kind in ("aeff", "edisp", "psf", "bkg"):
        response = client.get(url + kind)
        path = client.app.state.settings.data_dir / f"{kind}.fits"
        path.write_bytes(response.content)
        assert kind in load_irf_dict_from_file(path)


@pytest.mark.requires_data
def test_range_requests(client):
    url = f"/data?ID={quote(CRAB, safe='')}"
    full = client.get(url).content
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == full[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(full)}"
    assert client.get(url).headers["content-disposition"] == 'attachment; filename="hess-dl3-dr1_23523.fits.gz"'


@pytest.mark.requires_data
def test_spectrum_service_descriptor(client):
    result = links(client, CRAB)
    proc = [r for r in result if r.semantics == "#proc"][0]
    service = result.get_adhocservice_by_id(proc.service_def)
    params = {p.name: p for p in service.groups[0].entries}
    access = {p.name: p.value for p in service.params}
    assert access["standardID"] == "ivo://ivoa.net/std/UWS#async-1.1"
    assert access["accessURL"].endswith("/uws/spectrum")
    assert params["obs_ids"].value == "hess-dl3-dr1/23523"  # qualified: obs ids may repeat across releases
    assert params["ra"].value == pytest.approx(83.633, abs=1e-3) and params["ra"].unit == "deg"
    assert params["dec"].value == pytest.approx(22.014, abs=1e-3)
    assert params["on_radius"].value == pytest.approx(0.11)
    assert [o[1] for o in params["model"].values.options] == ["pl", "ecpl", "lp"]
    assert params["n_bins"].values.min == 1


@pytest.mark.requires_data
def test_several_ids_and_unknown_ids(client):
    response = client.get("/datalink", params=[("ID", CRAB), ("ID", "ivo://gamma-portal/archive?nope/1")])
    table = DatalinkResults(parse(io.BytesIO(response.content))).to_table()
    unknown = table[table["ID"] == "ivo://gamma-portal/archive?nope/1"]
    assert len(unknown) == 1 and str(unknown["error_message"][0]).startswith("NotFoundFault")
    assert len(table[table["ID"] == CRAB]) == 9
    posted = client.post("/datalink", data={"ID": CRAB})
    assert posted.status_code == 200 and posted.content.count(b"<TR>") == 9


@pytest.mark.requires_data
def test_missing_id_is_a_usage_fault(client):
    response = client.get("/datalink")
    assert response.status_code == 400
    votable = parse(io.BytesIO(response.content))
    info = votable.resources[0].infos[0]
    assert info.value == "ERROR" and "UsageFault" in info.content


@pytest.mark.parametrize("url", [
    "/data?ID=../../../../etc/passwd",
    "/data?ID=%2Fetc%2Fpasswd",
    "/data?ID=" + quote(CRAB, safe="") + "&HDU=../../../../etc/passwd",
    "/data?ID=" + quote(CRAB, safe="") + "&HDU=%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/data/../../../../etc/passwd",
    "/data/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/data/..%2f..%2f..%2fetc%2fpasswd",
    "/data/preview?ID=..%2F..%2Farchive.sqlite",
    "/data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz",
    "/data?ID=ivo://gamma-portal/archive?hess-dl3-dr1/../../../etc/passwd",
    "/data?ID=file:///etc/passwd",
])
@pytest.mark.requires_data
def test_traversal_attempts_are_refused(client, url):
    response = client.get(url)
    assert response.status_code in (400, 404), url
    assert b"root:" not in response.content and b"SQLite format" not in response.content


@pytest.fixture
def hostile_archive(tmp_path, tiny_release):
    """A release whose hdu-index was changed after ingest to point outside it, and a symlink out."""
    import shutil

    from astropy.table import Table

    from portal.archive.ingest import ingest_release

    release = tmp_path / "release"
    shutil.copytree(tiny_release.path, release)
    ingest_release(db_path(tmp_path / "state"), release)
    secret = tmp_path / "secret.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(name="PSF")]).writeto(secret)
    index = Table.read(release / "hdu-index.fits.gz")
    index["FILE_DIR"] = index["FILE_DIR"].astype("U64")
    index["FILE_NAME"] = index["FILE_NAME"].astype("U64")
    psf = index["HDU_TYPE"] == "psf"
    index["FILE_DIR"][psf], index["FILE_NAME"][psf] = "..", "secret.fits"
    bkg = index["HDU_TYPE"] == "bkg"
    (release / "data" / "link.fits").symlink_to(secret)
    index["FILE_NAME"][bkg] = "link.fits"
    index.write(release / "hdu-index.fits.gz", overwrite=True)
    return tmp_path / "state"


def test_files_outside_the_release_are_never_served(hostile_archive):
    from tests.data.conftest import make_client

    did = "ivo://gamma-portal/archive?release/100001"
    with make_client(hostile_archive) as c:
        table = DatalinkResults(parse(io.BytesIO(c.get("/datalink", params={"ID": did}).content))).to_table()
        kinds = set(str(k) for k in table["local_semantics"])
        assert "psf" not in kinds and "bkg" not in kinds and "events" in kinds
        for kind in ("psf", "bkg"):
            response = c.get("/data", params={"ID": did, "HDU": kind})
            assert response.status_code == 404 and f"no {kind} HDU" in response.text


@pytest.mark.requires_data
def test_vosi_and_response_format(client):
    from vo_models.vosi.capabilities.models import VOSICapabilities

    caps = VOSICapabilities.from_xml(client.get("/datalink/capabilities").content)
    ids = {str(c.standard_id) for c in caps.capability}
    assert "ivo://ivoa.net/std/DataLink#links-1.1" in ids and "ivo://ivoa.net/std/VOSI#availability" in ids
    assert b'available>true<' in client.get("/datalink/availability").content.replace(b"vosi:", b"")
    ok = client.get("/datalink", params={"ID": CRAB, "RESPONSEFORMAT": DATALINK})
    assert ok.status_code == 200
    bad = client.get("/datalink", params={"ID": CRAB, "RESPONSEFORMAT": "text/csv"})
    assert bad.status_code == 400 and b"UsageFault" in bad.content
    proc = [r for r in links(client, CRAB) if r.semantics == "#proc"][0]
    assert proc["link_auth"] == "true"
