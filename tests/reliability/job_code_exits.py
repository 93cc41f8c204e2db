"""Job code that ends its interpreter at import, after writing a path under the data folder to stderr
(tests/reliability/dying_jobs.py)."""

import os
import sys
from pathlib import Path

CALIBRATION = Path(os.environ.get("PORTAL_DATA_DIR") or "/srv/portal-data").resolve() / "calibration" / "camera.fits"
print(f"fatal: cannot open the calibration table {CALIBRATION}", file=sys.stderr, flush=True)
raise SystemExit(4)


def run(ctx, params: dict) -> None:  # never reached
    pass
