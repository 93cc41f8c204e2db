"""Headless Debian chromium driven by Playwright, with every request recorded."""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_path() -> str:
    path = CHROMIUM if shutil.which(CHROMIUM) else shutil.which("chromium")
    if not path:
        raise RuntimeError("chromium is not installed: run .ci/install-system-packages (apt-get install chromium)")
    return path


def is_external(url: str) -> bool:
    """A request that leaves the machine (data: and blob: URLs stay local)."""
    parsed = urlparse(url)
    if parsed.scheme in {"data", "blob", "about", "chrome", "chrome-extension", "devtools"}:
        return False
    return (parsed.hostname or "") not in LOCAL_HOSTS


def watched_page(browser, width: int = 1300, height: int = 900):
    """A new page that records every URL it requests (``page.requests``), every uncaught script
    error (``page.errors``) and every error the console shows (``page.console_errors``)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.requests, page.errors, page.console_errors = [], [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return page


def open_tab(page, title: str, tabs: str = ".portal-tabs") -> None:
    """Open the Portal's tab called ``title``: of the left column, or of ``tabs`` (``.portal-views``: the
    sky and the SED), with JupyterLab 3 or 4 tab bars."""
    page.click(f"{tabs} .lm-TabBar-tab:has-text('{title}'), {tabs} .p-TabBar-tab:has-text('{title}')")
