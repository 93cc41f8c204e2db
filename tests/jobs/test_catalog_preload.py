"""The exclusion catalogs are read once per version of their file, and the job service's fork server
reads them before any job (portal.jobs.preload), so that job processes inherit them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from portal.jobs import exclusion
from portal.jobs.definitions import DEFINITIONS
from portal.uws.application import default_runner

pytestmark = pytest.mark.requires_data


def test_a_catalog_is_read_once_per_version_of_its_file(tmp_path):
    source = exclusion.catalog_files()["hgps"]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    first = exclusion._catalog_sources("hgps", copy)
    assert exclusion._catalog_sources("hgps", copy) is first  # from the cache
    names, positions, extents = first
    assert len(names) == len(positions) == len(extents) > 50
    os.utime(copy, ns=(copy.stat().st_atime_ns, copy.stat().st_mtime_ns + 10**9))  # the file changed
    again = exclusion._catalog_sources("hgps", copy)
    assert again is not first and again[0] == names


def test_every_job_kind_preloads_the_catalogs_in_the_fork_server(tmp_path):
    from portal.config import Settings
    from portal.uws.application import service_config

    settings = Settings.from_env({"PORTAL_DATA_DIR": str(tmp_path)})
    runner = default_runner(settings, DEFINITIONS, service_config(settings, {}), environ={})
    assert "portal.jobs.preload" in runner.preload
    # every analysis of observations excludes known sources; a joint fit reads datasets only
    assert all("portal.jobs.preload" in d.preload for d in DEFINITIONS if d.name != "joint_spectrum")
    # importing the module (what the fork server does) fills the cache of that process
    code = ("import portal.jobs.preload\nfrom portal.jobs import exclusion\n"
            "print(exclusion._read_catalog.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert int(out.stdout.strip()) == len(exclusion.catalog_files()) == 2
