"""The seam between the widgets and the services (portal/seam): the widget library reads the parameter rules, the
model-file format and source sizes from it, and so imports none of the server's insides nor the science stack."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.servers import REPO

SERVER_SIDE = ("portal.uws", "portal.jobs", "portal.catalogs", "portal.archive", "portal.app", "portal.datalink")
HEAVY = ("gammapy", "scipy.optimize", "iminuit", "starlette", "fastapi", "uvicorn", "sqlite3")


def imported(code: str) -> list[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


def offending(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith(SERVER_SIDE) or m.split(".")[0] in HEAVY or m in HEAVY]


def test_the_widget_library_imports_only_the_seam_of_the_portal():
    modules = imported("import widgets\nfor name in widgets.__all__: getattr(widgets, name)")
    assert offending(modules) == []
    assert "portal.seam.params" in modules and "portal.seam.sizes" in modules


def test_the_seam_imports_no_gammapy_no_store_and_no_web_framework():
    modules = imported("import portal.seam.params, portal.seam.sizes, portal.seam.modelfile")
    assert offending(modules) == []


def test_both_sides_use_the_same_rules():
    from portal.catalogs.extent import SourceSize as CatalogSize
    from portal.jobs.spectrum import read_model, write_model
    from portal.seam import modelfile, params, sizes
    from portal.uws import definitions
    from portal.uws import params as service_params
    from widgets.client import uws as client

    assert definitions.Parameter is params.Parameter is client.Parameter
    assert service_params.convert is params.convert and service_params.ParameterError is params.ParameterError
    assert CatalogSize is sizes.SourceSize
    assert (read_model, write_model) == (modelfile.read_model, modelfile.write_model)
