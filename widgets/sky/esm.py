"""The ES module of the offline Aladin widget: ipyaladin's front end, loading Aladin Lite locally.

ipyaladin 0.8.1's module starts with ``import C from "https://esm.sh/aladin-lite@<version>"``,
which fails with no internet. :func:`build_esm` takes the installed module and replaces that
static import with a namespace that is filled, in the widget's ``initialize``, by a dynamic
``import()`` of ``aladin.js`` from the Jupyter server (see :mod:`widgets.jupyter`). It then
wraps ipyaladin's ``render`` to add the portal's layers (``layers.js``): footprints coloured by
selection, the target and search circle, and the archive's coverage MOC.

The patch is checked: if ipyaladin's module no longer has the expected shape, a clear error
names the version instead of shipping a widget that silently fails.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
CDN_IMPORT = re.compile(r'import\s*(\w+)\s*from\s*"https://esm\.sh/aladin-lite@([0-9A-Za-z.\-]+)"\s*;')
DEFAULT_EXPORT = re.compile(r"export\s*\{\s*([\w$]+)\s+as\s+default\s*\}\s*;?\s*$")

# Where the Jupyter server serves aladin.js, relative to the page's base URL: the Voila template's
# static folder (standalone Voila, and Voila as a server extension), then the server extension
# (JupyterLab, Notebook 7). The front end tries them in that order in Voila, the other way elsewhere.
ROUTES = ("voila/templates/gamma-portal/static/", "gamma-portal/static/")


class AladinModuleError(RuntimeError):
    """ipyaladin's ES module does not have the shape this patch expects."""


def _ipyaladin_module() -> tuple[str, str]:
    import ipyaladin

    path = Path(ipyaladin.__file__).parent / "static" / "widget.js"
    return path.read_text(encoding="utf-8"), getattr(ipyaladin, "__version__", "?")


def aladin_lite_version() -> str:
    code, version = _ipyaladin_module()
    match = CDN_IMPORT.search(code)
    if match is None:
        raise AladinModuleError(f"ipyaladin {version}: no CDN import of aladin-lite found in its module")
    return match.group(2)


def script_paths(version: str | None = None) -> list[str]:
    """The candidate paths of aladin.js, relative to the Jupyter server's base URL."""
    version = version or aladin_lite_version()
    return [f"{route}aladin-lite/{version}/aladin.js" for route in ROUTES]


def patch_module(code: str, ipyaladin_version: str = "?") -> str:
    """ipyaladin's module with the CDN import replaced and its default export renamed."""
    imports = CDN_IMPORT.findall(code)
    if len(imports) != 1:
        raise AladinModuleError(
            f"ipyaladin {ipyaladin_version}: expected one CDN import of aladin-lite, found {len(imports)}"
        )
    code = CDN_IMPORT.sub(lambda m: f"const {m.group(1)} = __portalAladin;", code)
    export = DEFAULT_EXPORT.search(code)
    if export is None:
        raise AladinModuleError(f"ipyaladin {ipyaladin_version}: no default export found in its module")
    return code[: export.start()] + f"const __ipyaladinWidget = {export.group(1)};\n"


@functools.lru_cache(maxsize=1)
def build_esm() -> str:
    """The whole ES module: loader prelude, patched ipyaladin, the portal layers and the export."""
    code, version = _ipyaladin_module()
    parts = [
        "// gamma-portal: ipyaladin's front end with Aladin Lite loaded from the Jupyter server.",
        f"const __portalIpyaladinVersion = {json.dumps(version)};",
        (HERE / "loader.js").read_text(encoding="utf-8"),
        patch_module(code, version),
        (HERE / "layers.js").read_text(encoding="utf-8"),
        (HERE / "export.js").read_text(encoding="utf-8"),
    ]
    return "\n".join(parts)
