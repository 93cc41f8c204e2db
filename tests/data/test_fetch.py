"""`portal data fetch` and `portal data path`: the gammapy data downloaded as gammapy does, for set-up."""

from __future__ import annotations

import pytest

from portal.cli import main
from tests.conftest import gammapy_data
from tests.data.loopback import LoopbackFileServer
from tests.data.test_default_dataset import closed_port_url


def _run(capsys, *args):
    code = main(["data", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


@pytest.mark.requires_data
def test_fetch_downloads_dr1_and_catalogs_then_path_points_at_them(tmp_path, monkeypatch, capsys):
    source = gammapy_data()
    monkeypatch.delenv("GAMMAPY_DATA", raising=False)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    assert _run(capsys, "path") == (0, "", "")  # nothing yet
    with LoopbackFileServer(source) as mirror:  # serves a copy of the public gammapy-data files
        monkeypatch.setenv("PORTAL_DATASET_URL", mirror.url)
        code, out, err = _run(capsys, "fetch")
        assert code == 0 and "116 files downloaded" in err
        folder = tmp_path / "gammapy-data"
        assert out == f"export GAMMAPY_DATA={folder}"
        assert len(list((folder / "hess-dl3-dr1" / "data").glob("*.fits.gz"))) == 105
        assert (folder / "catalogs" / "hgps_catalog_v1.fits.gz").is_file()
        code, _, err = _run(capsys, "fetch")  # a second set-up: verified, nothing transferred
        assert code == 0 and "0 files downloaded" in err and "116 already there" in err
    assert _run(capsys, "path")[:2] == (0, str(folder))


def test_offline_fetch_is_a_note_for_setup_and_an_error_otherwise(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GAMMAPY_DATA", raising=False)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_DATASET_URL", closed_port_url())
    code, out, err = _run(capsys, "fetch", "--optional")
    assert code == 0 and out == ""
    assert "could not be downloaded" in err and "simulate its default dataset" in err and "Traceback" not in err
    code, _, err = _run(capsys, "fetch")
    assert code == 1 and err.startswith("error: the gammapy data could not be downloaded")
    assert _run(capsys, "path")[:2] == (0, "")  # a failed download is never taken for data


@pytest.mark.requires_data
def test_given_gammapy_data_is_used_as_is(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GAMMAPY_DATA", str(gammapy_data()))
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_DATASET_URL", closed_port_url())  # nothing may be downloaded
    code, out, err = _run(capsys, "fetch")
    assert code == 0 and out == f"export GAMMAPY_DATA={gammapy_data()}" and "nothing to download" in err
    assert _run(capsys, "path")[:2] == (0, str(gammapy_data()))
    assert not (tmp_path / "gammapy-data").exists()
