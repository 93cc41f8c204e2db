"""Python warnings in a job's log: each distinct warning once, and how often it came.

A job's process sends Python warnings to its log through logging (``logging.captureWarnings``:
the logger ``py.warnings``, one record per warning, its text the place, category and message).
Libraries repeat theirs: astropy warned at every flux point written, gammapy at every file it
read, and their ``catch_warnings`` blocks reset Python's own once-per-place memory, so copies of
one warning swamped the log.

:class:`RepeatedWarnings`, a filter on that logger (:func:`install`), lets the first of each
distinct warning through and counts the copies; at 100, 1000 ... copies it says how many so far
(a long job shows that it still warns); :func:`report`, when the job ends, says how often each
repeated warning came. A worker process forked from the job's process inherits the filter with
what it had seen: copies there are not logged either (their count stays in that worker).
"""

from __future__ import annotations

import logging

__all__ = ["LOGGER", "RepeatedWarnings", "install", "report"]

LOGGER = "py.warnings"  # where logging.captureWarnings sends warnings


def _headline(text: str) -> str:
    """The first line of a formatted warning (``path:line: Category: message``)."""
    return text.strip().splitlines()[0] if text.strip() else text


class RepeatedWarnings(logging.Filter):
    """Each distinct warning once; copies counted, said at every power of ten from ``first_note`` on."""

    def __init__(self, first_note: int = 100) -> None:
        super().__init__()
        self.first_note = first_note
        self.counts: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "repeats", None) is not None:  # a count said by this filter
            return True
        text = record.getMessage()
        count = self.counts.get(text, 0) + 1
        self.counts[text] = count
        if count == 1:
            return True
        if count >= self.first_note and _power_of_ten(count):
            record.msg, record.args = "%s (%d times so far, shown once)", (_headline(text), count)
            record.repeats = count
            return True
        return False

    def repeated(self) -> dict[str, int]:
        """The headline of every warning that came more than once, and how often it came."""
        out: dict[str, int] = {}
        for text, count in self.counts.items():
            if count > 1:
                headline = _headline(text)
                out[headline] = out.get(headline, 0) + count
        return out

    def report(self, logger: logging.Logger) -> None:
        for headline, count in self.repeated().items():
            logger.warning("%s (%d times in all, shown once)", headline, count, extra={"repeats": count})


def _power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1


def install() -> RepeatedWarnings:
    """Put a fresh :class:`RepeatedWarnings` on the warnings' logger (in place of an earlier one)."""
    logger = logging.getLogger(LOGGER)
    for old in [f for f in logger.filters if isinstance(f, RepeatedWarnings)]:
        logger.removeFilter(old)
    repeats = RepeatedWarnings()
    logger.addFilter(repeats)
    return repeats


def report() -> None:
    """Say in the log how often each repeated warning came (the job ends)."""
    logger = logging.getLogger(LOGGER)
    for repeats in [f for f in logger.filters if isinstance(f, RepeatedWarnings)]:
        repeats.report(logger)
