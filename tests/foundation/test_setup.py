"""The set-up contract: pins that import together, Aladin Lite fetched and not committed, idempotent make."""

import importlib.metadata as md
import subprocess

from portal.config import Settings
from portal.datasets.fetch import data_folder
from tests.support.servers import REPO
from widgets.vendor import aladin_path, ipyaladin_version


def test_pinned_science_stack_imports():
    assert md.version("gammapy") == "2.0.1"
    assert md.version("regions") == "0.11"
    import gammapy.data  # noqa: F401  (fails on gammapy 2.1 with regions 0.12)
    import gammapy.makers  # noqa: F401


def test_aladin_lite_is_fetched_for_ipyaladins_version():
    path = aladin_path()
    assert path.exists(), "make setup should have fetched aladin-lite"
    assert ipyaladin_version() in str(path)
    head = path.read_bytes()[:200_000]
    assert b"export" in path.read_bytes()[-5000:] or b"export" in head


def test_third_party_code_is_not_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "_vendor" not in tracked
    assert "aladin.js" not in tracked


def test_second_make_setup_has_nothing_to_do():
    """`make -n setup` lists the commands make would run: none once set up (with no gammapy data at
    all, set-up tries the download again each time, by design)."""
    result = subprocess.run(["make", "-n", "setup"], cwd=REPO, capture_output=True, text=True, check=True)
    commands = [line for line in result.stdout.splitlines() if line and not line.startswith("make")]
    if data_folder(Settings.from_env()) is None:
        commands = [c for c in commands if "portal data" not in c]
    assert commands == [], result.stdout
