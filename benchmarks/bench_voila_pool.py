"""The preheated pool's refill during a visitor's page load (headless chromium, Voila with the repository's
configuration, about 1.5 minutes).

When a visitor takes the pool's preheated kernel, Voila starts a new one to refill the pool after
``VoilaKernelManager.fill_delay`` seconds: that kernel imports the widgets and runs ``portal.ipynb`` (about 3 s of
CPU), on the same 2 cores as the visitor's page. For Voila's default delay (1 s) and the configured one
(widgets/jupyter/config/voila.json), one page view each of a settled pool of 1:

- the CPU time the refill kernel used between the navigation and the target field being usable (goal: none with
  the configured delay), and in the 10 s after the navigation (the rest of the dashboard being drawn);
- the time to that field (one view each: indicative only; bench_dashboard measures it properly).

No portal service runs (the dashboard shows its banner): the refill's work, imports and ``Portal()``, is the same.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

from benchmarks import report
from tests.support.browser import CHROMIUM_ARGS, chromium_path, watched_page
from tests.support.servers import REPO, Server, free_port, start_voila, voila_kernels

INTERACTIVE = ".portal-app .portal-target-search input[type=text]"
AFTER = 10.0  # seconds after the navigation: the rest of the page drawn
DEFAULT_DELAY = 1.0  # Voila's own VoilaKernelManager.fill_delay


def configured_delay() -> float:
    from widgets.jupyter.install import CONFIG_DIR

    return float(json.loads((CONFIG_DIR / "voila.json").read_text())["VoilaKernelManager"]["fill_delay"])


def _start(folder: Path, delay: float | None) -> Server:
    options = () if delay is None else (f"--VoilaKernelManager.fill_delay={delay}",)
    return start_voila(REPO / "notebooks", {"PORTAL_URL": f"http://127.0.0.1:{free_port()}",
                                            "PORTAL_DATA_DIR": str(folder), "PORTAL_VOILA_POOL": "1"},
                       timeout=180, options=options)


def _settled(voila: Server, timeout: float = 300) -> set[int]:
    """Wait until the pool's kernel has run the notebook (one kernel, idle); return its pid."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        kernels = voila_kernels(voila)
        busy = sum(k.cpu_percent(interval=None) for k in kernels) if kernels else 0.0
        quiet = quiet + 1 if len(kernels) == 1 and busy < 5.0 else 0
        if quiet >= 4:
            return {k.pid for k in kernels}
        time.sleep(0.5)
    raise RuntimeError("the pool's kernel did not settle")


class RefillCPU:
    """Samples the CPU time of the kernels Voila starts after ``known`` (the refill), every 0.1 s."""

    def __init__(self, voila: Server, known: set[int]):
        self.voila, self.known, self.cpu, self._stop = voila, known, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for proc in voila_kernels(self.voila):
                if proc.pid in self.known:
                    continue
                try:
                    times = proc.cpu_times()
                    self.cpu[proc.pid] = times.user + times.system + times.children_user + times.children_system
                except psutil.Error:
                    pass
            self._stop.wait(0.1)

    def total(self) -> float:
        return sum(self.cpu.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _view(browser, voila: Server) -> tuple[float, float, float]:
    """One page view: (time to the target field, refill CPU until then, refill CPU in the first AFTER s)."""
    known = _settled(voila)
    page = watched_page(browser, 1440, 900)
    sampler = RefillCPU(voila, known)
    try:
        started = time.perf_counter()
        page.goto(voila.at("/voila/render/portal.ipynb"), timeout=300_000)
        page.wait_for_selector(INTERACTIVE, timeout=300_000)
        interactive = time.perf_counter() - started
        at_interactive = sampler.total()
        time.sleep(max(0.0, AFTER - (time.perf_counter() - started)))
        return interactive, at_interactive, sampler.total()
    finally:
        sampler.stop()
        page.goto("about:blank")
        page.close()


def run() -> None:
    from playwright.sync_api import sync_playwright

    configured = configured_delay()
    with tempfile.TemporaryDirectory(prefix="bench-voila-pool-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            for label, delay in ((f"fill_delay {DEFAULT_DELAY:g} s (Voila's default)", DEFAULT_DELAY),
                                 (f"fill_delay {configured:g} s (configured)", None)):
                voila = _start(Path(tmp), delay)
                try:
                    interactive, cpu_interactive, cpu_after = _view(browser, voila)
                finally:
                    voila.stop()
                configured_row = delay is None
                report(f"refill CPU, navigation to target field, {label}", cpu_interactive, "s",
                       goal="<= 0.1 s" if configured_row else None,
                       met=cpu_interactive <= 0.1 if configured_row else None)
                report(f"refill CPU, first {AFTER:g} s after navigation, {label}", cpu_after, "s",
                       goal="<= 0.1 s" if configured_row else None,
                       met=cpu_after <= 0.1 if configured_row else None)
                report(f"time to target field (1 view), {label}", interactive, "s")
        finally:
            browser.close()
    print(f"  load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    run()
