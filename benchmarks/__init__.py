"""Benchmarks (`make bench`); a module reports its figures with :func:`report`."""

from benchmarks.measure import report

__all__ = ["report"]
