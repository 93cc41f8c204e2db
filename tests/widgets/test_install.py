"""The Jupyter integration: Voila template, offline sky, server extension config, and the static route."""

import json
import threading
import time

import httpx
import pytest
import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

from widgets.jupyter import install
from widgets.jupyter.server_extension import _load_jupyter_server_extension
from widgets.vendor import aladin_path


def test_install_into_a_prefix(tmp_path):
    changed = install.ensure_installed(tmp_path)
    template = install.template_dir(tmp_path)
    assert (template / "conf.json").is_file() and (template / "index.html.j2").is_file()
    assert json.loads((template / "conf.json").read_text())["base_template"] == "lab"
    assert "fontawesome" not in (template / "index.html.j2").read_text().lower().replace("font awesome", "")
    sky = install.static_dir(tmp_path) / "hips" / install.OFFLINE_HIPS
    assert "hips_order" in (sky / "properties").read_text()
    assert len(list((sky / "Norder0" / "Dir0").glob("Npix*.png"))) == 12
    config = json.loads(install.server_config_path(tmp_path).read_text())
    assert config["ServerApp"]["jpserver_extensions"] == {"widgets.jupyter.server_extension": True}
    if aladin_path().exists():
        copy = install.static_dir(tmp_path) / "aladin-lite" / aladin_path().parent.name / "aladin.js"
        assert copy.stat().st_size == aladin_path().stat().st_size
    assert changed
    assert install.ensure_installed(tmp_path) == []  # idempotent


def test_voila_options_name_the_template_and_the_configuration(monkeypatch):
    monkeypatch.delenv("PORTAL_VOILA_POOL", raising=False)
    monkeypatch.delenv("PORTAL_VOILA_MAX_KERNELS", raising=False)
    config = f"--Voila.config_file_paths={install.CONFIG_DIR}"
    assert install.voila_options() == ["--template=gamma-portal", config]
    assert (install.template_dir() / "index.html.j2").is_file()
    assert install.voila_options(pool=0) == ["--template=gamma-portal", config,
                                             "--VoilaConfiguration.preheat_kernel=False"]
    monkeypatch.setenv("PORTAL_VOILA_POOL", "3")
    pools = json.loads(install.voila_options()[-1].split("=", 1)[1])
    assert pools == {"default": {"pool_size": 0}, "portal.ipynb": {"pool_size": 3}}
    monkeypatch.setenv("PORTAL_VOILA_MAX_KERNELS", "4")
    assert install.voila_options()[-1] == "--CappedKernelManager.max_kernels=4"
    assert install.voila_options(cap=2)[-1] == "--CappedKernelManager.max_kernels=2"


@pytest.mark.parametrize("text", ["many", "0", "-3", "1001"])
def test_a_bad_kernel_cap_is_refused_with_a_sentence(text):
    with pytest.raises(ValueError, match="PORTAL_VOILA_MAX_KERNELS"):
        install.max_kernels({"PORTAL_VOILA_MAX_KERNELS": text})


@pytest.mark.parametrize("text", ["two", "-1", "99"])
def test_a_bad_kernel_pool_is_refused_with_a_sentence(text):
    with pytest.raises(ValueError, match="PORTAL_VOILA_POOL"):
        install.kernel_pool({"PORTAL_VOILA_POOL": text})


def test_the_voila_configuration_preheats_the_portal_culls_idle_kernels_and_hides_tracebacks():
    standalone = json.loads((install.CONFIG_DIR / "voila.json").read_text())
    assert standalone["VoilaConfiguration"] == {"template": "gamma-portal", "show_tracebacks": False,
                                                "preheat_kernel": True, "extension_denylist": [
                                                    "jupyterlab_pygments", "@voila-dashboards/jupyterlab-preview"],
                                                "multi_kernel_manager_class": "widgets.jupyter.kernel_cap.CappedKernelManager"}
    assert 2 <= standalone["CappedKernelManager"]["max_kernels"] <= 8  # a 2-core box, the pool included
    assert standalone["VoilaKernelManager"]["fill_delay"] >= 10  # the refill waits for the visitor's page
    pools = standalone["VoilaKernelManager"]["kernel_pools_config"]
    assert pools == {"default": {"pool_size": 0}, "portal.ipynb": {"pool_size": 1}}
    culling = standalone["MappingKernelManager"]  # with or without preheating (a pool of 0)
    assert culling["cull_idle_timeout"] > 0 and culling["cull_connected"] is False
    assert standalone["VoilaExecutor"]["iopub_timeout"] >= 30
    install.ensure_installed()
    server = json.loads(install.server_config_path().read_text())  # Binder and JupyterHub: the server extension
    assert server["ServerApp"]["jpserver_extensions"]["widgets.jupyter.server_extension"] is True
    assert server["VoilaConfiguration"]["show_tracebacks"] is False
    assert server["MappingKernelManager"]["cull_idle_timeout"] > 0
    assert server["MappingKernelManager"]["cull_connected"] is False
    assert "multi_kernel_manager_class" not in server["VoilaConfiguration"]  # the server's own manager, not capped


class FakeServerApp:
    def __init__(self):
        self.web_app = tornado.web.Application(base_url="/base/")
        self.log = type("Log", (), {"info": staticmethod(lambda *a: None)})()


@pytest.fixture(scope="module")
def extension_url():
    install.ensure_installed()
    app = FakeServerApp()
    _load_jupyter_server_extension(app)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    loop_holder = {}

    def serve():
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())
        server = tornado.httpserver.HTTPServer(app.web_app)
        server.add_sockets(sockets)
        loop_holder["loop"] = tornado.ioloop.IOLoop.current()
        loop_holder["loop"].start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    while "loop" not in loop_holder:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/base/gamma-portal/static/"
    loop_holder["loop"].add_callback(loop_holder["loop"].stop)


def test_extension_serves_the_offline_sky(extension_url):
    response = httpx.get(extension_url + "hips/offline-sky/properties")
    assert response.status_code == 200 and "hips_frame" in response.text


@pytest.mark.skipif(not aladin_path().exists(), reason="Aladin Lite not fetched (make setup)")
def test_extension_serves_aladin_as_javascript(extension_url):
    version = aladin_path().parent.name
    response = httpx.get(extension_url + f"aladin-lite/{version}/aladin.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.headers["content-encoding"] == "gzip"  # httpx asks for it
    assert response.content == aladin_path().read_bytes()


@pytest.mark.parametrize("path", ["../conf.json", "..%2Fconf.json", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd"])
def test_extension_serves_nothing_outside_its_folder(extension_url, path):
    response = httpx.get(extension_url + path)
    assert response.status_code in (403, 404)
    assert "base_template" not in response.text and "root:" not in response.text


def test_dashboard_kernels_give_memory_back_unless_told_otherwise():
    assert install.kernel_environment({})["MALLOC_TRIM_THRESHOLD_"] == "65536"
    assert install.kernel_environment({"MALLOC_TRIM_THRESHOLD_": "0", "A": "b"}) == {"MALLOC_TRIM_THRESHOLD_": "0",
                                                                                     "A": "b"}

