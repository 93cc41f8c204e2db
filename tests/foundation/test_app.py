"""The application answers VOSI availability in-process, even with an empty archive."""
import io

import pytest
from fastapi.testclient import TestClient
from pyvo.io.vosi import parse_availability

from portal.app import create_app
from portal.config import Settings


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(data_dir=tmp_path / "state"))
    with TestClient(app) as client:
        yield client


def test_availability_with_empty_archive(client, tmp_path):
    response = client.get("/tap/availability")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    availability = parse_availability(io.BytesIO(response.content))
    assert availability.available is True
    assert (tmp_path / "state").is_dir()


def test_settings_from_environment(tmp_path):
    env = {"PORTAL_DATA_DIR": str(tmp_path), "GAMMAPY_DATA": str(tmp_path / "g"),
           "PORTAL_DASK_SCHEDULER": "tcp://h:8786"}
    s = Settings.from_env(env)
    assert s.data_dir == tmp_path
    assert s.gammapy_data == tmp_path / "g"
    assert s.dask_scheduler == "tcp://h:8786"
    assert Settings.from_env({}).gammapy_data is None and Settings.from_env({}).dask_scheduler is None


def test_an_unexpected_error_is_a_sentence_with_a_reference(tmp_path, caplog):
    app = create_app(Settings(data_dir=tmp_path / "state"))

    @app.get("/broken")
    def broken():
        raise KeyError("internal detail")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level("ERROR", "portal.errors"):
        response = client.get("/broken")
    assert response.status_code == 500 and response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("The portal could not answer GET /broken: an unexpected error")
    assert "Traceback" not in response.text and "internal detail" not in response.text
    reference = response.text.split("(reference ")[1].split(",")[0]
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)
