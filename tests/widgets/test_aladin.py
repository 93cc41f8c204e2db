"""The offline Aladin widget: its ES module, and state of its own per instance (ipyaladin's trap)."""

import ipyaladin
import pytest

from widgets.sky.aladin import LocalAladin
from widgets.sky.esm import AladinModuleError, aladin_lite_version, build_esm, patch_module, script_paths
from widgets.vendor import ipyaladin_version


def test_module_loads_aladin_from_the_jupyter_server():
    esm = build_esm()
    assert "esm.sh" not in esm and "https://" not in esm.split("const __ipyaladinWidget")[0].split("__portalLoad")[0]
    assert "import(/* webpackIgnore: true */ url)" in esm
    assert esm.count("export default") == 1


def test_script_paths_match_the_fetched_version():
    version = aladin_lite_version()
    assert version == ipyaladin_version() == "3.9.2-beta"
    assert script_paths() == [f"voila/templates/gamma-portal/static/aladin-lite/{version}/aladin.js",
                              f"gamma-portal/static/aladin-lite/{version}/aladin.js"]


def test_patch_refuses_an_unexpected_module():
    with pytest.raises(AladinModuleError, match="expected one CDN import"):
        patch_module("export{a as default};", "9.9")
    with pytest.raises(AladinModuleError, match="no default export"):
        patch_module('import C from"https://esm.sh/aladin-lite@1.0";var l=C;', "9.9")


def test_call_store_is_per_instance():
    first, second = LocalAladin(), LocalAladin()
    sent = []
    first.send = lambda msg, buffers=None: sent.append(msg["event_name"])
    second.send = lambda msg, buffers=None: sent.append(("second", msg["event_name"]))
    first.add_moc({"3": [1, 2]})  # queued: the front end is not loaded
    assert len(first._call_store.calls) == 1 and second._call_store.calls == []
    assert ipyaladin.Aladin._call_store.calls == []  # the class-level store is never used
    first._is_loaded = True  # the front end of the first view loads: only its calls run, once
    assert sent == ["add_MOC_from_dict"] and first._call_store.calls == []
    second._is_loaded = True
    assert sent == ["add_MOC_from_dict"]
    first.close()
    second.close()


def test_listeners_are_per_instance():
    first, second = LocalAladin(), LocalAladin()
    first._is_loaded = second._is_loaded = True
    got = []
    first.set_listener("click", lambda c: got.append(("first", c)))
    second.set_listener("click", lambda c: got.append(("second", c)))
    first._handle_custom_message(first, {"event_type": "click", "content": 1}, [])
    second._handle_custom_message(second, {"event_type": "click", "content": 2}, [])
    assert got == [("first", 1), ("second", 2)]
    assert ipyaladin.Aladin.listener_callback == {}
    first.close()
    second.close()


def test_script_paths_are_in_the_initial_state():
    # The front end reads them from the model's first state: they must be there, not set afterwards.
    widget = LocalAladin()
    assert widget.get_state()["_portal_script_paths"] == script_paths()
    widget.close()
