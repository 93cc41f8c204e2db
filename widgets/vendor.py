"""Fetch Aladin Lite from the npm registry into an ignored folder, for serving it locally.

ipyaladin imports Aladin Lite from a CDN (esm.sh), which fails offline. The npm package
``aladin-lite`` ships the same code as one ES module (``dist/aladin.js``). `make setup` runs
``python -m widgets.vendor`` to download the tarball, check it against the registry's
integrity hash, and keep only that file; then it installs the Jupyter side that serves it
(:mod:`widgets.jupyter.install`). Nothing third-party is committed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import urllib.request
from pathlib import Path

from widgets.jupyter.install import VENDOR_DIR, ensure_installed

PACKAGE = "aladin-lite"
FALLBACK_VERSION = "3.9.2-beta"


def registry_url() -> str:
    return (os.environ.get("NPM_CONFIG_REGISTRY") or "https://registry.npmjs.org/").rstrip("/")


def ipyaladin_version() -> str:
    """The Aladin Lite version that the installed ipyaladin was built against."""
    try:
        import ipyaladin
    except ImportError:
        return FALLBACK_VERSION
    js = Path(ipyaladin.__file__).parent / "static" / "widget.js"
    match = re.search(r"aladin-lite@([0-9A-Za-z.\-]+)", js.read_text(encoding="utf-8"))
    return match.group(1) if match else FALLBACK_VERSION


def aladin_path(version: str | None = None) -> Path:
    return VENDOR_DIR / PACKAGE / (version or ipyaladin_version()) / "aladin.js"


def _check_integrity(data: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if digest != expected:
        raise RuntimeError(f"{PACKAGE} tarball does not match the registry's {algo} integrity hash")


def fetch_aladin(version: str | None = None, timeout: float = 120) -> Path:
    """Download ``aladin-lite@version`` unless already present; return the path of aladin.js."""
    version = version or ipyaladin_version()
    target = aladin_path(version)
    if target.exists():
        return target
    with urllib.request.urlopen(f"{registry_url()}/{PACKAGE}/{version}", timeout=timeout) as r:
        meta = json.load(r)
    with urllib.request.urlopen(meta["dist"]["tarball"], timeout=timeout) as r:
        data = r.read()
    _check_integrity(data, meta["dist"]["integrity"])
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile("package/dist/aladin.js")
        if member is None:
            raise RuntimeError(f"{PACKAGE}@{version} has no dist/aladin.js")
        code = member.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(code)
    tmp.replace(target)
    return target


def main() -> int:
    try:
        path = fetch_aladin()
    except Exception as exc:  # noqa: BLE001 - report any failure plainly at set-up
        print(f"could not fetch {PACKAGE} from {registry_url()}: {exc}", file=sys.stderr)
        return 1
    print(f"{PACKAGE}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    # Serve it from Jupyter: the Voila template and the server extension (see widgets/jupyter/install.py).
    for installed in ensure_installed():
        print(f"installed {installed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
