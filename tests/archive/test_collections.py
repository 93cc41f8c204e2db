"""Observations by collection: releases that share obs ids, ``<collection>/<obs_id>``, no silent choice."""

from __future__ import annotations

import shutil

import pytest

from portal.archive import store
from portal.archive.ingest import ingest_release
from portal.archive.locate import locate_observations, naming_problems
from portal.uws.definitions import UsageError
from tests.archive.releases import make_pointlike_release


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory):
    """The same three point-like runs (1001, 1002, 1003) in collections ``first`` and ``second``, and
    run 1003 alone in ``third``: an archive as DR1 and a later release of the same runs make it."""
    root = tmp_path_factory.mktemp("collections")
    first = make_pointlike_release(root / "first")
    second = root / "second"
    shutil.copytree(first, second)
    db = root / store.DB_NAME
    assert ingest_release(db, first) == 3 and ingest_release(db, second) == 3
    return db, first.resolve(), second.resolve()


def test_an_id_in_two_collections_is_never_chosen_silently(two_releases):
    db, _, _ = two_releases
    message = "obs id 1001 is in collections first and second: write first/1001 or second/1001"
    with pytest.raises(UsageError) as caught:
        locate_observations(db, [1001])
    assert str(caught.value) == message
    assert naming_problems(db, [1001]) == message
    assert naming_problems(db, [1001, 1002]) == ("obs ids 1001, 1002 are in collections first and second: write "
                                                 "first/1001 or second/1001, and likewise for the others")


def test_qualified_ids_resolve_to_their_own_release(two_releases):
    db, first, second = two_releases
    found = locate_observations(db, ["second/1002", "first/1001", "second/1003"])
    assert [(f.obs_id, f.collection, f.release_dir) for f in found] == [
        (1002, "second", second), (1001, "first", first), (1003, "second", second)]
    assert found[0].target_name == "Crab Nebula" and found[0].ra == pytest.approx(83.633)
    assert naming_problems(db, ["second/1002", "first/1001"]) is None


def test_unknown_collections_and_ids_are_named(two_releases):
    db, _, _ = two_releases
    assert naming_problems(db, ["hess-dl3-dr1/1001", "hess-dl3-dr1/1002"]) == (
        "the archive has no collection 'hess-dl3-dr1' (asked for hess-dl3-dr1/1001, hess-dl3-dr1/1002; "
        "its collections: first, second)")
    assert naming_problems(db, ["first/4242"]) == "obs id 4242 is not in collection first"
    assert naming_problems(db, [4242]) is None  # unknown everywhere: the job names it when it runs
    with pytest.raises(UsageError, match=r"^unknown obs id: 4242 \(search the archive"):
        locate_observations(db, ["first/1001", 4242])
    with pytest.raises(UsageError, match="not an observation"):
        locate_observations(db, ["first/x"])


def test_collections_named_at_ingest_count_alike(tmp_path, two_releases):
    _, first, _ = two_releases
    other = tmp_path / "third"
    shutil.copytree(first, other)
    db = tmp_path / store.DB_NAME
    ingest_release(db, first)
    ingest_release(db, other, collection="third")
    with pytest.raises(UsageError, match="write first/1003 or third/1003"):
        locate_observations(db, [1003])
    single = tmp_path / "single.sqlite"
    ingest_release(single, other, collection="third")
    assert [f.collection for f in locate_observations(single, [1003, "third/1001"])] == ["third", "third"]


def test_ingesting_the_same_release_again_makes_nothing_ambiguous(tmp_path):
    release = make_pointlike_release(tmp_path / "release")
    alias = tmp_path / "alias"
    alias.symlink_to(release, target_is_directory=True)
    db = tmp_path / store.DB_NAME
    assert ingest_release(db, release) == 3
    assert ingest_release(db, release) == 0  # the same folder again
    assert ingest_release(db, alias) == 0  # the same folder by another path
    assert ingest_release(db, release, collection="release") == 0  # the same folder under its own name
    assert naming_problems(db, [1001, 1002, 1003]) is None
    found = locate_observations(db, [1001, 1002, 1003])
    assert {(f.collection, f.release_dir) for f in found} == {("release", release.resolve())}
