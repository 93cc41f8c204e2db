"""JupyterHub both ways, with a real hub on loopback: `portal serve` is a hub-managed service, each user's
dashboard finds it from the hub and talks to it with the user's own JUPYTERHUB_API_TOKEN. Two users log in,
open the dashboard (the hub's default URL), each submits a job; neither sees the other's in the monitor; a
visitor without a login gets nothing."""

import re

import httpx
import pytest

from tests.browser.pixels import is_allowed_external
from tests.hub.hub import MINTER_TOKEN, PASSWORD
from tests.support.browser import is_external, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data]
ALLOWED_CONSOLE = ("AladinLiteLogger", "net::ERR_", "Failed to load resource", "MocServer")


def log_in(browser, hub, user: str):
    page = watched_page(browser, 1440, 900)  # a page of its own context: its own cookies
    page.goto(hub.url + "/hub/login", timeout=120_000)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    # the hub spawns the user's server, then sends them to the default URL: the dashboard in Voila
    page.wait_for_url(re.compile(rf"/user/{user}/voila/render/notebooks/portal.ipynb"), timeout=300_000)
    page.wait_for_selector(".portal-app", timeout=300_000)
    return page


def open_tab(page, title: str) -> None:
    page.click(f".portal-tabs .lm-TabBar-tab:has-text('{title}'), .portal-tabs .p-TabBar-tab:has-text('{title}')")


def submit_spectrum(page) -> str:
    open_tab(page, "Launch an analysis")
    page.wait_for_selector(".portal-job-launcher .portal-param-obs_ids input", timeout=120_000)
    page.fill(".portal-param-obs_ids input", "23523")
    page.keyboard.press("Tab")
    page.fill(".portal-param-ra input", "83.633")
    page.keyboard.press("Tab")
    page.fill(".portal-param-dec input", "22.0145")
    page.keyboard.press("Tab")
    page.click(".portal-launch-submit")
    # the dashboard turns to "Your jobs", where the new job is followed
    page.wait_for_selector(".portal-job-monitor .portal-job-header:has-text('spectrum')", timeout=120_000)
    status = page.wait_for_selector(".portal-launch-status:has-text('Submitted spectrum job')", state="attached")
    job_id = re.search(r"job ([0-9a-f]{8,})", status.text_content())
    assert job_id, status.text_content()
    return job_id.group(1)


def listed_jobs(page) -> list[str]:
    open_tab(page, "Your jobs")
    page.click(".portal-job-monitor button:has-text('Refresh')")
    page.wait_for_selector(".portal-monitor-message", state="attached", timeout=120_000)
    page.wait_for_selector(".portal-job-list option", timeout=120_000)
    return page.eval_on_selector_all(".portal-job-list option", "options => options.map(o => o.textContent)")


def console_errors(page) -> list[str]:
    return [m for m in page.console_errors if not any(a in m for a in ALLOWED_CONSOLE)]


def test_two_users_each_see_only_their_own_jobs(hub, browser, tmp_path):
    sessions = {user: log_in(browser, hub, user) for user in ("alice", "bob")}
    try:
        jobs = {user: submit_spectrum(page) for user, page in sessions.items()}
        assert jobs["alice"] != jobs["bob"]
        for user, page in sessions.items():
            shown = listed_jobs(page)  # read again from the service: only what it says is theirs
            other = "bob" if user == "alice" else "alice"
            assert len(shown) == 1 and jobs[user][:10] in shown[0], shown
            assert not any(jobs[other][:10] in line for line in shown), shown
            page.screenshot(path=str(tmp_path / f"hub-{user}.png"))
            # the user's own server keeps the hub's login and all the notebooks: the tutorials, which `portal up`'s
            # Voila does not serve, are theirs in JupyterLab
            tutorials = page.request.get(hub.url + f"/user/{user}/api/contents/notebooks/tutorials")
            assert tutorials.status == 200 and len(tutorials.json()["content"]) >= 4
            status = page.inner_text(".portal-app")
            assert "Traceback" not in status
            assert [u for u in page.requests if is_external(u) and not is_allowed_external(u)] == []
            assert page.errors == [] and console_errors(page) == []
    finally:
        for page in sessions.values():
            page.close()


def test_a_visitor_without_a_login_gets_nothing(hub, browser):
    page = watched_page(browser)
    try:
        page.goto(hub.url + "/user/alice/voila/render/notebooks/portal.ipynb", timeout=120_000)
        assert "/hub/login" in page.url
        assert page.locator(".portal-app").count() == 0
        # Voila's API in a user's server is the hub's too: nothing listed, no kernel, without a login
        for path in ("/voila/api/contents/notebooks", "/api/contents/notebooks/tutorials", "/api/kernels"):
            answer = httpx.get(hub.url + "/user/alice" + path, timeout=60, follow_redirects=False)
            assert answer.status_code in (302, 403, 404) and "launch-and-wait" not in answer.text, (path, answer.status_code)
    finally:
        page.close()
    assert httpx.get(hub.service_url + "/uws/spectrum").status_code == 401
    assert httpx.get(hub.service_url + "/uws/spectrum",
                     headers={"Authorization": "Bearer not-a-hub-token"}).status_code == 401


def test_the_service_accepts_only_tokens_with_its_access_scope(hub):
    """The service checks hub tokens with JupyterHub's HubAuth: a valid token of a user without the scope
    `access:services!service=portal` gets 403; the same user's token with it gets in; so does the user
    servers' token, which the dashboards send (the first test's jobs)."""
    api = httpx.Client(base_url=hub.url + "/hub/api", headers={"Authorization": f"token {MINTER_TOKEN}"}, timeout=60)
    try:
        assert api.post("/users/carol").status_code in (201, 409)

        def token(*scopes: str) -> str:
            response = api.post("/users/carol/tokens", json={"scopes": list(scopes), "note": "issue 23"})
            assert response.status_code == 201, response.text
            return response.json()["token"]

        without, with_scope = token("read:users:name!user"), token("access:services!service=portal")
    finally:
        api.close()
    refused = httpx.get(hub.service_url + "/uws", headers={"Authorization": f"Bearer {without}"}, timeout=60)
    assert refused.status_code == 403, refused.text
    assert "access:services!service=portal" in refused.text and "Traceback" not in refused.text
    accepted = httpx.get(hub.service_url + "/uws", headers={"Authorization": f"Bearer {with_scope}"}, timeout=60)
    assert accepted.status_code == 200, accepted.text
    jobs = httpx.get(hub.service_url + "/uws/spectrum", headers={"Authorization": f"token {with_scope}"}, timeout=60)
    assert jobs.status_code == 200 and "<uws:jobref" not in jobs.text  # carol's own list: nobody else's jobs
    # a TAP read is anonymous whatever the token: the one without the scope reads what anyone may read
    tap = httpx.get(hub.service_url + "/tap/sync", headers={"Authorization": f"Bearer {without}"}, timeout=60,
                    params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"})
    assert tap.status_code == 200, tap.text
