"""Every kind of GADF DL3 release ingests and is served: MAGIC as published, the VERITAS-like and
fixed-RAD_MAX releases made from the MAGIC and H.E.S.S. files, the simulated CTAO release; the rows
ObsCore gets for them, DataLink and /data for each, previews, coverage, and broken releases."""

from __future__ import annotations

import io
import shutil
import sqlite3
from urllib.parse import urlsplit

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import parse
from astropy.table import Table
from pyvo.dal.adhoc import DatalinkResults

from portal.archive.ingest import ingest_release
from portal.archive.store import db_path
from tests.archive.conftest import query
from tests.data.conftest import CRAB, make_client


def rows(data_dir, where: str = "1 = 1") -> dict[str, dict]:
    names, values = query(db_path(data_dir), f"SELECT * FROM ivoa.obscore WHERE {where} ORDER BY obs_id")
    return {r[names.index("obs_id")]: dict(zip(names, r, strict=True)) for r in values}


def datalink(client, did: str) -> Table:
    response = client.get("/datalink", params={"ID": did})
    assert response.status_code == 200, response.text
    return DatalinkResults(parse(io.BytesIO(response.content), verify="exception")).to_table()


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + "?" + parts.query


@pytest.fixture(scope="module")
def client(releases_archive):
    with make_client(releases_archive) as c:
        yield c


@pytest.mark.requires_data
def test_magic_release_rows(releases_archive, magic_release):
    magic = rows(releases_archive, "obs_collection = 'rad_max'")  # named after the folder above data/
    assert sorted(magic) == ["5029747", "5029748"]
    row = magic["5029747"]
    assert row["facility_name"] == "MAGIC" and row["instrument_name"] == "MAGIC stereo"
    assert row["irf_type"] == "point-like" and row["target_name"] == "CrabNebula"
    assert row["obs_publisher_did"] == "ivo://gamma-portal/archive?rad_max/5029747"
    # the IRFs' single offset bin, 0.39 to 0.41 deg, is the field of view
    assert row["s_fov"] == 0.82 and row["s_region"] == "CIRCLE ICRS 83.98333 22.24389 0.41"
    assert row["s_resolution"] == pytest.approx(0.1 * 3600)  # RAD_MAX_2D at 1 TeV
    assert row["energy_min"] == pytest.approx(0.08576008) and row["energy_max"] == pytest.approx(100, rel=1e-6)
    assert row["target_offset"] == pytest.approx(0.40, abs=0.01) and row["ev_xel"] == 11189
    assert 2 < row["em_res_power"] < 10
    assert row["t_exptime"] == pytest.approx(1178.066, abs=1e-3)


@pytest.mark.requires_data
def test_veritas_like_releases_rows(releases_archive, dr1_archive):
    magic = rows(releases_archive, "obs_collection = 'magic-veritas-like'")
    assert sorted(magic) == ["6029747", "6029748"]
    for row in magic.values():
        # safe thresholds that span the whole grid give the grid's range
        assert row["energy_min"] == pytest.approx(0.01, rel=1e-6) and row["energy_max"] == pytest.approx(100, rel=1e-6)
        assert row["irf_type"] == "point-like" and row["s_resolution"] == pytest.approx(360)
    hess = rows(releases_archive, "obs_collection = 'hess-veritas-like'")
    dr1 = rows(dr1_archive, "obs_collection = 'hess-dl3-dr1'")
    assert sorted(hess) == ["1023523", "1023526"]
    for obs_id, row in hess.items():
        original = dr1[str(int(obs_id) - 1_000_000)]
        assert row["irf_type"] == "full-enclosure" and row["s_fov"] == 5.0
        assert row["s_resolution"] == pytest.approx(original["s_resolution"])
        assert (row["energy_min"], row["energy_max"]) == pytest.approx((0.01, 100), rel=1e-6)


def ingest_and_read(path, where, collection=None):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        ingest_release(db_path(Path(tmp)), path, collection=collection)
        return list(rows(Path(tmp), where).values())


@pytest.mark.requires_data
def test_fixed_rad_max_release_rows(releases_archive, dr1_archive):
    fixed = rows(releases_archive, "obs_collection = 'hess-fixed-rad-max'")
    dr1 = rows(dr1_archive, "obs_collection = 'hess-dl3-dr1'")
    assert sorted(fixed) == ["2023523", "2023526"]
    for obs_id, row in fixed.items():
        assert row["irf_type"] == "point-like"
        assert row["s_resolution"] == pytest.approx(0.11 * 3600)  # the RAD_MAX keyword, as no PSF is there
        assert row["energy_min"] == dr1[str(int(obs_id) - 2_000_000)]["energy_min"]


@pytest.mark.requires_data
def test_ctao_release_rows(releases_archive):
    ctao = rows(releases_archive, "obs_collection = 'simulated-ctao-dl3'")
    assert sorted(ctao) == ["100001", "100002"]
    for row in ctao.values():
        assert row["facility_name"] == "CTAO" and row["irf_type"] == "full-enclosure"
        assert row["s_fov"] == 6.0  # the events reach 3 deg; the prod5 IRFs, given from 0 to 6 deg, do not bound it
        assert 60 < row["s_resolution"] < 400


@pytest.mark.requires_data
def test_collection_names(tmp_path, magic_release):
    from portal.archive.layout import release_name
    from tests.conftest import gammapy_data

    assert release_name(magic_release) == "rad_max"  # its README's title is a sentence, not a name
    assert release_name(gammapy_data() / "hess-dl3-dr1") == "hess-dl3-dr1"  # "# HESS-DL3-DR1"
    (tmp_path / "veritas" / "data").mkdir(parents=True)
    (tmp_path / "veritas" / "README.rst").write_text("VERITAS-Crab-2023\n=================\n\nText.\n")
    assert release_name(tmp_path / "veritas" / "data") == "veritas-crab-2023"
    (tmp_path / "My Release!").mkdir()
    assert release_name(tmp_path / "My Release!") == "My-Release"
    [row] = ingest_and_read(magic_release, "obs_id = '5029747'", collection="magic-crab")
    assert row["obs_publisher_did"] == "ivo://gamma-portal/archive?magic-crab/5029747"


@pytest.mark.requires_data
def test_ingest_collection_option(tmp_path, magic_release):
    from tests.archive.test_cli import portal

    done = portal("ingest", magic_release, "--collection", "magic-crab-2013", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(rows(tmp_path)) == {"5029747", "5029748"}
    assert {r["obs_collection"] for r in rows(tmp_path).values()} == {"magic-crab-2013"}
    for args, message in ((["--collection", "magic crab"], "is not valid"),
                          ([magic_release, "--collection", "x"], "exactly one PATH")):
        refused = portal("ingest", magic_release, *args, data_dir=tmp_path / "other")
        assert refused.returncode != 0 and message in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.requires_data
def test_every_link_of_every_release_resolves(client, releases_archive):
    """DataLink lists each observation's files; each link answers with the announced type and size."""
    names, values = query(db_path(releases_archive), "SELECT obs_publisher_did, obs_collection FROM ivoa.obscore")
    assert len(values) == 10
    for did, collection in values:
        table = datalink(client, did)
        assert not any(str(m) for m in table["error_message"] if m), (did, list(table["error_message"]))
        kinds = {str(k) for k in table["local_semantics"]}
        point_like = collection in ("rad_max", "magic-veritas-like", "hess-fixed-rad-max")
        expected = {"dl3", "events", "gti", "aeff", "edisp", "counts-map", "spectrum"}
        expected |= {"rad_max"} if collection in ("rad_max", "magic-veritas-like") else set()
        expected |= set() if point_like else {"psf", "bkg"}
        assert kinds == expected, did
        for row in table:
            if row["semantics"] == "#proc":
                continue
            response = client.get(local(row["access_url"]))
            assert response.status_code == 200, (did, row["local_semantics"], response.text)
            assert response.headers["content-type"] == row["content_type"]
            if row["local_semantics"] == "counts-map":
                assert response.content[:4] == b"\x89PNG"
                continue
            assert len(response.content) == int(row["content_length"])
            if row["local_semantics"] not in ("dl3",):
                with fits.open(io.BytesIO(response.content)) as hdul:
                    hdul.verify("exception")
                    assert len(hdul) == 2


@pytest.mark.requires_data
def test_magic_single_hdus_read_in_gammapy(client, tmp_path):
    from gammapy.irf import EffectiveAreaTable2D, EnergyDispersion2D, RadMax2D

    url = "/data?ID=" + "ivo%3A%2F%2Fgamma-portal%2Farchive%3Frad_max%2F5029747" + "&HDU="
    read = {}
    for kind, cls in (("aeff", EffectiveAreaTable2D), ("edisp", EnergyDispersion2D), ("rad_max", RadMax2D)):
        path = tmp_path / f"{kind}.fits"
        path.write_bytes(client.get(url + kind).content)
        read[kind] = cls.read(path, hdu=1)
        assert read[kind].is_pointlike and read[kind].axes["offset"].nbin == 1
    assert read["rad_max"].evaluate(energy=1 * u.TeV, offset=0.4 * u.deg).to_value("deg") == pytest.approx(0.1, 1e-3)
    assert read["aeff"].meta["LO_THRES"] == pytest.approx(0.08576008)


@pytest.mark.requires_data
def test_the_spectrum_descriptor_points_at_the_target(client):
    table = datalink(client, "ivo://gamma-portal/archive?rad_max/5029748")
    response = client.get("/datalink", params={"ID": "ivo://gamma-portal/archive?rad_max/5029748"})
    result = DatalinkResults(parse(io.BytesIO(response.content)))
    proc = [r for r in result if r.semantics == "#proc"][0]
    params = {p.name: p.value for p in result.get_adhocservice_by_id(proc.service_def).groups[0].entries}
    assert params["obs_ids"] == "rad_max/5029748" and (params["ra"], params["dec"]) == pytest.approx(CRAB)
    assert len(table) == 8


@pytest.mark.requires_data
def test_coverage_of_the_releases(client, releases_archive):
    from mocpy import MOC

    moc = MOC.from_json(client.get("/coverage/moc.json").json())
    magic = list(rows(releases_archive, "obs_collection = 'rad_max'").values())
    lon = [r["s_ra"] for r in magic] + [CRAB[0]]
    lat = [r["s_dec"] for r in magic] + [CRAB[1]]
    assert all(moc.contains_lonlat(lon * u.deg, lat * u.deg))
    assert not moc.contains_lonlat(150 * u.deg, 10 * u.deg)[0]


@pytest.fixture
def fragile(tmp_path, releases):
    """A copy of the VERITAS-like H.E.S.S. release, ingested, then broken by the test."""
    release = tmp_path / "fragile"
    shutil.copytree(releases["hess-veritas-like"], release)
    ingest_release(db_path(tmp_path / "state"), release)
    return release, tmp_path / "state"


def _break(kind: str, release):
    first = sorted(release.glob("hess_dl3_dr1_obs_id_*.fits.gz"))[0]
    if kind == "no-hdu-index":
        (release / "hdu-index.fits.gz").unlink()
    elif kind == "corrupt-hdu-index":
        (release / "hdu-index.fits.gz").write_bytes(b"not a FITS file")
    elif kind == "file-removed":
        first.unlink()
    elif kind == "file-truncated":
        first.write_bytes(first.read_bytes()[:20000])
    elif kind == "folder-removed":
        shutil.rmtree(release)
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["no-hdu-index", "corrupt-hdu-index", "file-removed", "file-truncated",
                                  "folder-removed"])
@pytest.mark.requires_data
def test_a_broken_release_gives_datalink_error_rows(fragile, kind):
    release, state = fragile
    did = "ivo://gamma-portal/archive?fragile/1023523"
    _break(kind, release)
    with make_client(state) as c:
        table = datalink(c, did)  # 200 and a valid DataLink document
        errors = [str(m) for m in table["error_message"] if m]
        assert errors and all(e.startswith("FatalFault: ") for e in errors), errors
        assert all("Traceback" not in e for e in errors)
        served = c.get("/data", params={"ID": did})
        # a truncated file is still served as it is (its single HDUs are not); the others cannot be
        assert served.status_code == (200 if kind == "file-truncated" else 500)
        assert served.status_code == 200 or ("broken" in served.text and "Traceback" not in served.text)
        preview = c.get("/data/preview", params={"ID": did})
        assert preview.status_code == 500 and "broken" in preview.text
        # the other observation of the release still has its links when only one file broke
        other = datalink(c, "ivo://gamma-portal/archive?fragile/1023526")
        broken_whole = kind in ("no-hdu-index", "corrupt-hdu-index", "folder-removed")
        assert bool([m for m in other["error_message"] if m]) == broken_whole
        # anonymous callers read why, but not where the server keeps its files
        folders = {str(release), str(release.parent), str(state)}
        for text in errors + [served.text, preview.text]:
            assert not [f for f in folders if f in text], text


@pytest.mark.requires_data
def test_an_index_without_file_dir(tmp_path, releases):
    """GADF lists FILE_DIR, but a release without the column is read as if it were empty."""
    release = tmp_path / "no-file-dir"
    shutil.copytree(releases["magic-veritas-like"], release)
    index = Table.read(release / "hdu-index.fits")
    index.remove_column("FILE_DIR")
    index.write(release / "hdu-index.fits", overwrite=True)
    assert ingest_release(db_path(tmp_path), release) == 2
    with make_client(tmp_path) as c:
        table = datalink(c, "ivo://gamma-portal/archive?no-file-dir/6029747")
        assert not [m for m in table["error_message"] if m]
        aeff = table[table["local_semantics"] == "aeff"][0]
        assert c.get(local(aeff["access_url"])).status_code == 200
    from portal.jobs.observations import open_release

    store = open_release(release)
    assert store.obs(6029747, required_irf="point-like").aeff.is_pointlike
    assert np.all(store.hdu_table["FILE_DIR"] == ".")
    assert sqlite3.connect(db_path(tmp_path)).execute('SELECT count(*) FROM "ivoa.obscore"').fetchone()[0] == 2


def test_reasons_name_files_not_the_servers_folders():
    from portal.datalink.lookup import reason

    missing = FileNotFoundError(2, "No such file or directory")
    missing.filename = "/srv/portal/releases/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz"
    assert reason(missing) == "[Errno 2] No such file or directory: 'hess_dl3_dr1_obs_id_023523.fits.gz'"
    assert reason(OSError("Header missing END card in C:\\data\\run.fits")) == "Header missing END card in run.fits"
    assert reason(ValueError("1/2 of the rows, a/b")) == "1/2 of the rows, a/b"  # no path, unchanged
