"""The services' health as the dashboard sees it (widgets/health.py, widgets/banner.py, the Services panel),
against a real `portal serve` that is stopped and started again on the same port: the banner shows within
the probe interval, or at once when a request finds no one; it goes and the Services panel says
"available" again by itself when the services answer; the probe backs off while they are down. Every
trait change happens in the loop's thread (here the test's)."""

from __future__ import annotations

import threading

import pytest
from pyvo.dal import DALAccessError

from tests.support.servers import start_portal
from widgets.background import Background
from widgets.banner import ServiceBanner
from widgets.client import PortalClient
from widgets.health import ServiceHealth
from widgets.status import ServiceStatus

pytestmark = pytest.mark.slow
NO_DATA = {"PORTAL_DEFAULT_DATASET": "none"}


def test_the_banner_and_the_services_panel_follow_the_services_going_and_coming_back(tmp_path):
    server = start_portal(tmp_path / "data", NO_DATA)
    client = PortalClient(server.url)
    bg = Background.shared()
    health = ServiceHealth(client, bg, interval=2.0, backoff=0.25)
    threads: set = set()
    health.observe(lambda _change: threads.add(threading.get_ident()), ["reachable", "message"])
    banner = ServiceBanner(health)
    status = ServiceStatus(client=client)  # its own watcher of the client: what any request sees, both see
    try:
        assert bg.wait_until(lambda: status.state.statuses, timeout=60)
        assert status.state.statuses[0]["message"] == "available" and not banner.shown
        assert health.reachable

        server.kill()  # as a crash would: nothing said to anyone
        assert bg.wait_until(lambda: not health.reachable, timeout=2.0 + 30)  # the probe's interval, and slack
        assert banner.shown and "cannot be reached: retrying" in banner._text.value
        assert "cannot be reached (connection refused)" in health.message and server.url in banner._text.value
        assert bg.wait_until(lambda: status.state.statuses and not status.state.statuses[0]["up"], timeout=60)
        assert "cannot be reached" in status.state.statuses[0]["message"]
        probes = health.probes
        assert bg.wait_until(lambda: health.probes >= probes + 3, timeout=60)  # it goes on trying

        server = start_portal(tmp_path / "data", NO_DATA, port=int(server.url.rsplit(":", 1)[1]))
        assert bg.wait_until(lambda: health.reachable, timeout=2.0 + 30)
        assert not banner.shown and health.message == ""
        assert bg.wait_until(lambda: status.state.statuses and status.state.statuses[0]["up"], timeout=60)
        assert status.state.statuses[0]["message"] == "available"
        assert threads == {threading.get_ident()}
    finally:
        health.close()
        status.health.close()
        server.kill()
        client.close()


def test_a_request_that_finds_no_one_shows_the_banner_at_once_try_now_probes_and_the_next_answer_hides_it(tmp_path):
    server = start_portal(tmp_path / "data", NO_DATA)
    client = PortalClient(server.url)
    bg = Background.shared()
    health = ServiceHealth(client, bg, interval=600, backoff=600)  # no probe in this test: only the requests
    banner = ServiceBanner(health)
    try:
        server.kill()
        with pytest.raises(DALAccessError):
            client.tap_service().run_sync("SELECT TOP 1 * FROM ivoa.obscore")  # pyvo's requests are seen too
        assert bg.wait_until(lambda: banner.shown, timeout=30)
        assert health.probes == 0
        banner.retry.click()  # "Try now": one probe at once, whatever the back-off
        assert bg.wait_until(lambda: health.probes == 1, timeout=30) and banner.shown
        server = start_portal(tmp_path / "data", NO_DATA, port=int(server.url.rsplit(":", 1)[1]))
        client.get("/tap/availability")
        assert bg.wait_until(lambda: not banner.shown, timeout=30)
        assert health.probes == 1
    finally:
        health.close()
        server.kill()
        client.close()


def test_the_probe_backs_off_while_the_services_are_down():
    client = PortalClient("http://127.0.0.1:9")  # nothing listens on the discard port
    health = ServiceHealth(client, Background(), interval=10.0, backoff=1.0, start=False)
    try:
        assert 9.0 < health.next_wait() <= 10.0  # up: a probe only after 10 s without an answer
        waits = []
        for _ in range(6):
            assert not health.probe()
            waits.append(health.next_wait())
        assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
        health.seen(True)
        assert 9.0 < health.next_wait() <= 10.0
    finally:
        health.close()
        client.close()
