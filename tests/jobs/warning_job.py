"""A job function that warns as libraries do, for the job-log tests: the same warning 16 times (each
after a ``catch_warnings`` block, which makes Python forget that it already showed it), one other
warning, and an ordinary log line three times."""

from __future__ import annotations

import warnings

from astropy.io.fits.verify import VerifyWarning

REPEATS = 16
CARD = "Card is too long, comment will be truncated."  # astropy's words
CHECKSUM = "Checksum verification failed."  # gammapy's


def run(ctx, params: dict) -> None:
    for i in range(REPEATS):
        with warnings.catch_warnings():  # a library's own block: on exit Python forgets what it showed
            warnings.simplefilter("ignore", DeprecationWarning)
        warnings.warn(CARD, VerifyWarning, stacklevel=1)
        if i % 6 == 0:
            ctx.log.info("written flux point file")
    warnings.warn(CHECKSUM, UserWarning, stacklevel=1)
