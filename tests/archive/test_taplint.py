"""The IVOA TAP validator (stilts taplint, every default stage but LOC) finds no error and no failure."""

import re
import shutil
import subprocess

import pytest


@pytest.mark.slow
def test_taplint_reports_no_errors_or_failures(tap_server):
    stilts = shutil.which("stilts")
    if stilts is None:
        pytest.skip("stilts is not installed (`make test` installs it: .ci/install-system-packages)")
    run = subprocess.run([stilts, "taplint", f"tapurl={tap_server.url}/tap", "stages=-LOC", "report=EWF",
                          "maxrepeat=5"], capture_output=True, text=True, timeout=900)
    out = run.stdout + run.stderr
    totals = re.search(r"Totals: Errors: (\d+); Warnings: (\d+); Failures: (\d+)", out)
    assert totals, out[-3000:]
    errors, warnings, failures = map(int, totals.groups())
    problems = "\n".join(line for line in out.splitlines() if re.match(r"[EFW]-[A-Z]{3}-", line))
    assert (errors, failures) == (0, 0), problems
    assert warnings <= 1, problems  # 0 here at the time of writing; a DaCHS server gets 15 on the same table
