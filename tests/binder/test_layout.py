"""repo2docker accepts binder/ (it writes the Dockerfile without building it), and the README's Binder link
opens the Voila portal."""

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from tests.support.servers import REPO

BIN = Path(sys.executable).parent


def test_repo2docker_accepts_the_layout():
    proc = subprocess.run([str(BIN / "jupyter-repo2docker"), "--no-build", "--debug", str(REPO)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dockerfile = proc.stdout
    assert "Building conda environment for python=3.11" in proc.stderr  # binder/runtime.txt
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    assert "ENV KERNEL_PYTHON_PREFIX=${NB_PYTHON_PREFIX}" in dockerfile  # one environment: server and kernels


def test_binder_files_pin_and_set_up():
    assert (REPO / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = (REPO / "binder" / "postBuild").read_text()
    assert "-c constraints.txt" in post_build  # the whole environment pinned
    assert "python -m widgets.vendor" in post_build and "portal data fetch" in post_build
    start = (REPO / "binder" / "start").read_text()
    assert "portal serve" in start and start.rstrip().endswith('exec "$@"')
    for name in ("postBuild", "start"):
        assert (REPO / "binder" / name).stat().st_mode & 0o111, f"binder/{name} is not executable"


def test_the_readme_badge_opens_the_voila_portal():
    readme = (REPO / "README.md").read_text()
    links = re.findall(r"\((https://mybinder\.org/v2/[^)\s]+)\)", readme)
    assert links, "no Binder link in the README"
    urlpath = unquote(parse_qs(urlparse(links[0]).query)["urlpath"][0])
    assert urlpath == "voila/render/notebooks/portal.ipynb"
    assert (REPO / urlpath.removeprefix("voila/render/")).is_file()
