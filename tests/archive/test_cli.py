"""`portal ingest PATH...` and `portal ingest --synthetic N`."""

import os
import subprocess
import sys

from portal.archive import store
from tests.archive.conftest import query
from tests.archive.releases import make_pointlike_release
from tests.support.servers import REPO


def portal(*args, data_dir):
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "portal.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def test_ingest_command(tmp_path):
    release = make_pointlike_release(tmp_path / "release")
    data = tmp_path / "state"
    first = portal("ingest", release, data_dir=data)
    assert first.returncode == 0, first.stderr
    assert "3 observation(s) added" in first.stdout
    again = portal("ingest", release, "--synthetic", 40, "--seed", 1, data_dir=data)
    assert again.returncode == 0 and "0 observation(s) added (already in the archive)" in again.stdout
    assert "40 synthetic row(s) added" in again.stdout
    assert query(store.db_path(data), "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0] == 43


def test_ingest_command_reports_a_broken_release(tmp_path):
    release = make_pointlike_release(tmp_path / "release")
    (release / "obs_1002.fits.gz").unlink()
    result = portal("ingest", release, data_dir=tmp_path / "state")
    assert result.returncode == 1
    assert "obs_1002.fits.gz does not exist" in result.stderr and "nothing was written" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_command_needs_something_to_do(tmp_path):
    result = portal("ingest", data_dir=tmp_path)
    assert result.returncode == 2 and "--synthetic" in result.stderr
