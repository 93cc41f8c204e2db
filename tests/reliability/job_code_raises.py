"""Job code with a bug at import (tests/reliability/dying_jobs.py)."""

raise RuntimeError("this analysis module is broken")


def run(ctx, params: dict) -> None:  # never reached
    pass
