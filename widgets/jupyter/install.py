"""Install the widgets' Jupyter integration into the environment (``sys.prefix``).

Two things make Aladin Lite load from the machine itself rather than from a CDN:

* a **Voila template** ``gamma-portal`` (Voila's ``lab`` template without its Font Awesome CDN
  links, with a banner for a lost kernel connection, ``kernel-watch.js``, and tree pages with no
  script that land on a folder's ``index.ipynb``) whose static folder holds Aladin Lite. Voila serves template static files at
  ``voila/templates/gamma-portal/static/...``, both standalone (``voila notebooks/``) and as a
  Jupyter server extension (Binder's ``/voila/render/...``);
* a **Jupyter server extension** (:mod:`widgets.jupyter.server_extension`) that serves the same
  folder at ``gamma-portal/static/...`` in JupyterLab, Notebook 7 and any jupyter-server.

Editable installs (``pip install -e``) do not install ``data_files``, so this module writes the
files itself. It is idempotent and cheap: ``make setup`` (through ``python -m widgets.vendor``),
Binder's ``postBuild`` and the Voila launcher call :func:`ensure_installed`.

The Voila configuration is kept in the repository, in ``widgets/jupyter/config/``:

* ``voila.json`` for standalone Voila (``make run``): the portal's template, no tracebacks in pages,
  no JavaScript of the lab extensions the dashboards do not use (``extension_denylist``), a pool of
  preheated kernels for ``portal.ipynb`` (1 by default; ``PORTAL_VOILA_POOL=N`` changes it, 0 turns
  preheating off) refilled 20 s after a visitor took one (``fill_delay``: the refill's imports would
  take the CPU the visitor's page needs), a cap on kernels (8, the pool's included;
  ``PORTAL_VOILA_MAX_KERNELS``; :mod:`widgets.jupyter.kernel_cap`) and the culling of idle kernels whose
  page was closed;
  :mod:`widgets.jupyter.voila_app` runs it with static files gzipped and cacheable;
* :func:`kernel_environment`: what the dashboards' kernels get in their environment (from the
  server that starts them): glibc gives freed memory back at once (``MALLOC_TRIM_THRESHOLD_``);
* ``jupyter_server_config.json`` for Voila as a Jupyter server extension (Binder, JupyterHub): the
  same template and no tracebacks, the culling of idle unconnected kernels, and this package's
  server extension. It is installed as ``etc/jupyter/jupyter_server_config.d/gamma-portal-widgets.json``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from pathlib import Path

#: Where ``python -m widgets.vendor`` puts what it fetched from the npm registry (ignored by git), and where
#: the files served from here are read: defined here, so that the fetcher depends on this module, not both ways.
VENDOR_DIR = Path(__file__).resolve().parents[1] / "_vendor"
TEMPLATE_NAME = "gamma-portal"
TEMPLATE_SOURCE = Path(__file__).resolve().parent / "templates" / TEMPLATE_NAME
SERVER_EXTENSION = "widgets.jupyter.server_extension"
SERVER_CONFIG_NAME = "gamma-portal-widgets.json"
CONFIG_DIR = Path(__file__).resolve().parent / "config"
DASHBOARD = "portal.ipynb"
POOL_VARIABLE = "PORTAL_VOILA_POOL"
MAX_KERNELS_VARIABLE = "PORTAL_VOILA_MAX_KERNELS"
OFFLINE_HIPS = "offline-sky"
OFFLINE_TILE = 64
OFFLINE_COLOR = (28, 31, 38)
OFFLINE_HIPS_PROPERTIES = {
    "creator_did": "ivo://gamma-portal/P/offline-sky",
    "obs_title": "Offline sky (no survey: HiPS need the network)",
    "dataproduct_type": "image",
    "hips_version": "1.4",
    "hips_frame": "equatorial",
    "hips_order": "0",
    "hips_order_min": "0",
    "hips_tile_width": str(OFFLINE_TILE),
    "hips_tile_format": "png",
    "hips_status": "public master unclonable",
}


def static_dir(prefix: str | Path | None = None) -> Path:
    """The folder both routes serve: the installed template's static folder."""
    return template_dir(prefix) / "static"


def template_dir(prefix: str | Path | None = None) -> Path:
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "voila" / "templates" / TEMPLATE_NAME


def server_config_path(prefix: str | Path | None = None) -> Path:
    return Path(prefix or sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / SERVER_CONFIG_NAME


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")  # atomic, and safe with concurrent installs
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def _copy_vendor(static: Path) -> list[Path]:
    """Copy widgets/_vendor/aladin-lite into the template's static folder.

    A copy, not a symlink: tornado's static handler refuses symlinks that leave its root.
    Files are compared by size and modification time, so a new fetch is picked up cheaply.
    """
    changed = []
    source_root = VENDOR_DIR / "aladin-lite"
    if not source_root.is_dir():
        return changed
    dest_root = static / "aladin-lite"
    if dest_root.is_symlink():
        dest_root.unlink()
    for source in sorted(source_root.rglob("*")):
        if not source.is_file() or source.suffix == ".part":
            continue
        dest = dest_root / source.relative_to(source_root)
        st = source.stat()
        if dest.is_file() and dest.stat().st_size == st.st_size and dest.stat().st_mtime == st.st_mtime:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.part")
        shutil.copy2(source, tmp)
        tmp.replace(dest)  # a server never serves half a file
        changed.append(dest)
    return changed


def _offline_sky(static: Path) -> list[Path]:
    """A blank HiPS (uniform dark tiles at order 0) that Aladin uses as its base layer offline.

    Aladin Lite needs a base image layer; every survey it knows lives on CDS servers. This one is
    served by the Jupyter server like Aladin Lite itself, so the view draws with no network.
    """
    from PIL import Image

    root = static / "hips" / OFFLINE_HIPS
    properties = "\n".join(f"{k:<22}= {v}" for k, v in OFFLINE_HIPS_PROPERTIES.items()) + "\n"
    changed = []
    if _write_if_changed(root / "properties", properties.encode()):
        changed.append(root / "properties")
    if not (root / "Moc.fits").is_file():  # the whole sky (Aladin Lite asks for the HiPS's coverage)
        from mocpy import MOC

        buffer = io.BytesIO()
        MOC.from_str("0/0-11").serialize("fits").writeto(buffer)
        _write_if_changed(root / "Moc.fits", buffer.getvalue())
        changed.append(root / "Moc.fits")
    tiles = [root / "Norder0" / "Dir0" / f"Npix{n}.png" for n in range(12)] + [root / "Norder3" / "Allsky.png"]
    for tile in tiles:
        if tile.is_file():
            continue
        size = (OFFLINE_TILE * 27, OFFLINE_TILE * 29) if tile.name == "Allsky.png" else (OFFLINE_TILE, OFFLINE_TILE)
        buffer = io.BytesIO()
        Image.new("RGB", size, OFFLINE_COLOR).save(buffer, format="PNG")
        _write_if_changed(tile, buffer.getvalue())
        changed.append(tile)
    return changed


def ensure_installed(prefix: str | Path | None = None) -> list[Path]:
    """Install or refresh the template and the server-extension config; return what changed."""
    changed = []
    dest = template_dir(prefix)
    for source in sorted(TEMPLATE_SOURCE.iterdir()):
        if source.is_file() and _write_if_changed(dest / source.name, source.read_bytes()):
            changed.append(dest / source.name)
    changed += _copy_vendor(dest / "static")
    changed += _offline_sky(dest / "static")
    config = json.loads((CONFIG_DIR / "jupyter_server_config.json").read_text())
    config.setdefault("ServerApp", {}).setdefault("jpserver_extensions", {})[SERVER_EXTENSION] = True
    path = server_config_path(prefix)
    if _write_if_changed(path, (json.dumps(config, indent=2) + "\n").encode()):
        changed.append(path)
    return changed


def _kernel_count(environ, name: str, default: int | None, low: int, high: int, hint: str = "") -> int | None:
    """The whole number of kernels in the variable ``name`` (``default`` when unset or blank), from ``low`` to
    ``high``; otherwise a ValueError naming the variable."""
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return default
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of kernels{hint}, not {text!r}") from None
    if not low <= count <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {count}")
    return count


def kernel_pool(environ=None) -> int:
    """How many preheated kernels wait for ``portal.ipynb`` (``PORTAL_VOILA_POOL``, default 1)."""
    return _kernel_count(environ, POOL_VARIABLE, 1, 0, 16, " (0 turns preheating off)")


def max_kernels(environ=None) -> int | None:
    """The cap on the dashboards' kernels, the pool's included (``PORTAL_VOILA_MAX_KERNELS``; None: voila.json's 8)."""
    return _kernel_count(environ, MAX_KERNELS_VARIABLE, None, 1, 1000)


def _configured_pool() -> int:
    pools = json.loads((CONFIG_DIR / "voila.json").read_text())["VoilaKernelManager"]["kernel_pools_config"]
    return int(pools.get(DASHBOARD, pools.get("default", {})).get("pool_size", 0))


# A dashboard kernel reads many files and tables one after the other (results, flux points, catalogs);
# with glibc's default the memory they used stays with the process (305 MB after the journey of
# bench_dashboard, 286 MB with this). Dask's nanny gives its workers the same value.
KERNEL_ENVIRONMENT = {"MALLOC_TRIM_THRESHOLD_": "65536"}


def kernel_environment(environ=None) -> dict[str, str]:
    """``environ`` (default ``os.environ``) with what the dashboards' kernels need; values set are kept."""
    return {**KERNEL_ENVIRONMENT, **(os.environ if environ is None else environ)}


def voila_options(pool: int | None = None, cap: int | None = None) -> list[str]:
    """The Voila command-line options the portal's dashboards need (installs the template first).

    The configuration is ``widgets/jupyter/config/voila.json``; ``pool`` (default: :func:`kernel_pool`)
    sets the number of preheated kernels of the main dashboard, ``cap`` (default: :func:`max_kernels`, else
    voila.json's) the cap on kernels. ``iopub_timeout`` (120 s there): Voila
    stops collecting a cell's output 4 s after the cell finished by default, and a dashboard whose widget
    output is dropped is an empty page; 30 s was not enough for a preheated kernel at a load of 25.
    """
    ensure_installed()
    pool = kernel_pool() if pool is None else pool
    options = [f"--template={TEMPLATE_NAME}", f"--Voila.config_file_paths={CONFIG_DIR}"]
    if pool == 0:
        options.append("--VoilaConfiguration.preheat_kernel=False")
    elif pool != _configured_pool():
        pools = {"default": {"pool_size": 0}, DASHBOARD: {"pool_size": pool}}
        options.append(f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}")
    cap = max_kernels() if cap is None else cap
    if cap is not None:
        options.append(f"--CappedKernelManager.max_kernels={cap}")
    return options


def main() -> int:
    for path in ensure_installed():
        print(f"installed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
