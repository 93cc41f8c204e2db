"""The JobContext a job gets: publishing (atomic, inside its folder only), inputs, the archive."""

from __future__ import annotations

import hashlib
import logging
import os

import pytest

from portal.uws.context import RunContext
from portal.uws.definitions import FatalError, UsageError
from tests.conftest import gammapy_data


def context(tmp_path, archive_db=None):
    from portal.archive.locate import ArchiveLocator

    reports = []
    locator = None if archive_db is None else ArchiveLocator(archive_db)
    ctx = RunContext("job1", "alice", tmp_path, lambda kind, value: reports.append((kind, value)),
                     logger=logging.getLogger("test.context"), locator=locator)
    return ctx, reports


def test_publish_snapshots_and_replaces(tmp_path):
    ctx, reports = context(tmp_path)
    points = tmp_path / "points.fits"
    points.write_bytes(b"first")
    ctx.publish("flux_points", points, "application/fits")
    served = tmp_path / "results" / "flux_points.fits"
    reader = open(served, "rb")  # a download in progress
    points.write_bytes(b"second, longer")
    ctx.publish("flux_points", points, "application/fits")
    assert reader.read() == b"first"  # the reader keeps the version it opened
    reader.close()
    assert served.read_bytes() == b"second, longer"
    assert [k for k, _ in reports] == ["published", "published"]
    assert reports[-1][1].path == "results/flux_points.fits" and reports[-1][1].size == 14
    assert not [p for p in (tmp_path / "results").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("result_id, path, message", [
    ("x", "/etc/hostname", "outside the job's folder"),
    ("x", "../escape.txt", "outside the job's folder"),
    ("x", "missing.txt", "not a file"),
    ("../x", "ok.txt", "invalid result id"),
    ("log", "ok.txt", "reserved"),
    ("provenance", "ok.txt", "reserved"),
])
def test_publish_refuses(tmp_path, result_id, path, message):
    (tmp_path / "ok.txt").write_text("ok")
    (tmp_path.parent / "escape.txt").write_text("no")
    ctx, _ = context(tmp_path)
    with pytest.raises(ValueError, match=message):
        ctx.publish(result_id, path, "text/plain")


def test_used_records_checksums(tmp_path):
    ctx, reports = context(tmp_path)
    data = tmp_path / "events.fits"
    data.write_bytes(b"events")
    ctx.used(data, "events", obs_id=23523, irf=None, weird=object())
    item = ctx.inputs[0]
    assert item.sha256 == hashlib.sha256(b"events").hexdigest()
    assert item.attributes["obs_id"] == 23523 and isinstance(item.attributes["weird"], str)
    assert reports == [("used", item)]


def test_abort_callbacks(tmp_path):
    ctx, _ = context(tmp_path)
    calls = []
    ctx.on_abort(lambda: calls.append(1))
    ctx.request_abort()
    ctx.request_abort()
    ctx.on_abort(lambda: calls.append(2))  # registered late: called at once
    assert calls == [1, 2] and ctx.abort_requested.is_set()


def test_locate_needs_a_locator(tmp_path):
    ctx, _ = context(tmp_path)
    with pytest.raises(FatalError, match="no archive to resolve observation ids"):
        ctx.locate([23523])


def test_locate_needs_the_archive(tmp_path):
    from portal.archive.locate import ArchiveLocator
    from portal.archive.store import connect_write, db_path

    ctx, _ = context(tmp_path, archive_db=tmp_path / "nothing.sqlite")
    with pytest.raises(FatalError, match="archive database is not available"):
        ctx.locate([23523])
    db = db_path(tmp_path / "archive")
    connect_write(db).close()
    ctx.locator = ArchiveLocator(db)
    with pytest.raises(UsageError, match="23523"):
        ctx.locate([23523])


@pytest.mark.requires_data
def test_locate_resolves_obs_ids(tmp_path):
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path

    release = gammapy_data() / "hess-dl3-dr1"
    db = db_path(tmp_path / "archive")
    ingest_release(db, release)
    ctx, _ = context(tmp_path, archive_db=db)
    found = ctx.locate([23526, 23523])
    assert [loc.obs_id for loc in found] == [23526, 23523]
    assert all(os.path.samefile(loc.release_dir, release) for loc in found)
    with pytest.raises(UsageError, match="999999"):
        ctx.locate([23523, 999999])
