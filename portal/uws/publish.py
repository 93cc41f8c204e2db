"""Publishing a completed job's products into the archive: ``{job}/publish`` and the ``publish`` parameter.

::

    POST   /uws/{list}/{id}/publish  VISIBILITY=private (default) | public
                                     the first time: copy the job's files to the publication store,
                                     add its products to ivoa.obscore and its ProvDM record to the
                                     provenance.* tables; again: change the visibility only -> 200
    DELETE /uws/{list}/{id}/publish  take them out (the job itself is untouched) -> 200
    GET    /uws/{list}/{id}/publish  "public", "private" or "unpublished" (text)

Only the job's owner may: to anyone else the job does not exist (404), as for every UWS resource.
Every definition accepts a ``publish`` parameter (:func:`with_publish`); a job run with
``publish=true`` is published privately when it completes (:func:`publish_when_complete`).

The copies live in ``$PORTAL_DATA_DIR/publications/<job id>/``, so that a product outlives its job's
destruction; unpublishing removes them. The rows are written by :mod:`portal.archive.publication`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import shutil
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from portal.archive import publication, provtap
from portal.archive.products import Job as ProductJob, product_did, product_rows
from portal.uws.definitions import JobDefinition, Parameter
from portal.uws.errors import InvalidPhase, InvalidRequest, JobNotFound, UWSError
from portal.uws.models import ExecutionPhase, Job

__all__ = ["PUBLISH", "publish_job", "publish_when_complete", "router", "unpublish_job", "with_publish"]

log = logging.getLogger("portal.uws")

PUBLISH = Parameter("publish", "bool", "Publish the job's products (flux points, light curve, maps) in the "
                    "archive, privately, when the job completes: they appear in ivoa.obscore and their provenance "
                    "in the provenance tables, for you only until you make them public.", default=False,
                    label="Publish in the archive when complete")
_JOB_RESULT = re.compile(r"^portal:job_([A-Za-z0-9_-]+?)_result_")


def with_publish(definition: JobDefinition) -> JobDefinition:
    """``definition`` with the ``publish`` parameter (unless it has one of its own)."""
    if any(p.name == PUBLISH.name for p in definition.parameters):
        return definition
    return dataclasses.replace(definition, parameters=(*definition.parameters, PUBLISH))


def _store_dir(archive_db: Path) -> Path:
    return Path(archive_db).parent / "publications"


def _parameters(service, job: Job) -> dict[str, str]:
    definition = service.definitions.get(job.job_list)
    values = {p.name: str(p.default) for p in (definition.parameters if definition else ()) if p.default is not None}
    values.update(dict(job.parameters))
    return values


def _used_observations(prov: dict[str, list[dict]]) -> list[str]:
    used = {u["entity_id"] for u in prov["used"]}
    return sorted({e["obs_publisher_did"] for e in prov["entity"]
                   if e["id"] in used and e["obs_id"] is not None and e["obs_publisher_did"]})


def _sources(service, job: Job, prov: dict[str, list[dict]]) -> tuple[list[str], tuple[float, float] | None]:
    """The observations and target of the owner's jobs whose results this job used (a joint fit)."""
    dids: list[str] = []
    position = None
    for used in prov["used"]:
        match = _JOB_RESULT.match(used["entity_id"] or "")
        source = service.store.get(match.group(1)) if match else None
        if source is None or source.owner != job.owner:
            continue
        params = _parameters(service, source)
        if position is None and "ra" in params and "dec" in params:
            position = (float(params["ra"]), float(params["dec"]))
        record = service.workdir(source.job_id) / "provenance.json"
        if record.is_file():
            dids.extend(_used_observations(provtap.rows(record.read_text(encoding="utf-8"))))
    return dids, position


def publish_job(service, db: Path, job: Job, public: bool) -> str:
    """Publish a COMPLETED job of ``service`` into the archive database ``db`` (blocking; call in a thread).
    Returns the visibility it now has."""
    if publication.publication(db, job.job_id) is not None:
        publication.set_visibility(db, job.job_id, public)
        return "public" if public else "private"
    workdir = service.workdir(job.job_id)
    record = workdir / "provenance.json"
    if not record.is_file():
        raise InvalidRequest(f"Job {job.job_id} has no provenance record, so its products cannot be published")
    folder = _store_dir(db) / job.job_id
    files = []
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    root = workdir.resolve()
    for result in job.results:
        source = (root / result.path).resolve()
        if not source.is_relative_to(root) or not source.is_file():
            continue
        target = folder / result.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        files.append({"id": result.id, "path": result.path, "mime_type": result.mime_type,
                      "size": target.stat().st_size})
    document = record.read_text(encoding="utf-8")
    ids = {f["id"] for f in files}
    prov = provtap.rows(document, {r: product_did(job.job_id, r) for r in ids})
    dids = _used_observations(prov)
    source_dids, position = _sources(service, job, prov)
    observations = publication.observations(db, sorted(set(dids + source_dids)))
    rows = product_rows(ProductJob(job.job_id, job.job_list, _parameters(service, job), tuple(files),
                                   tuple(observations)), position)
    if not rows:
        shutil.rmtree(folder, ignore_errors=True)
        raise InvalidRequest(f"Job {job.job_id} made no product that the archive holds (flux points, a light "
                             "curve or sky maps, with the target's position)")
    pub = publication.Publication(job.job_id, job.job_list, job.owner, public, str(folder), tuple(files))
    publication.publish(db, pub, rows, prov)
    log.info("published job %s (%d products, %s)", job.job_id, len(rows), "public" if public else "private")
    return "public" if public else "private"


def unpublish_job(db: Path, job_id: str) -> bool:
    """Take a job's products out of the archive database ``db`` (blocking); False if it was not published."""
    removed = publication.unpublish(db, job_id)
    if removed is None:
        return False
    shutil.rmtree(removed.folder, ignore_errors=True)
    log.info("unpublished job %s", job_id)
    return True


def publish_when_complete(service, db: Path, job_id: str) -> None:
    """Called (in any thread) when a job of ``service`` finished: publish it privately into the archive
    database ``db`` if it asked to be (the application registers it with ``JobService.on_completed``)."""
    job = service.store.get(job_id)
    if job is None or job.phase != ExecutionPhase.COMPLETED or job.owner is None:
        return
    if dict(job.parameters).get(PUBLISH.name, "").strip().lower() not in ("true", "1", "yes"):
        return
    try:
        publish_job(service, db, job, public=False)
    except Exception:  # noqa: BLE001 - a job that completed stays completed; the owner may publish again
        log.exception("could not publish job %s when it completed", job_id)


def _visibility(value: str | None) -> bool:
    text = (value or "private").strip().lower()
    if text not in ("private", "public"):
        raise InvalidRequest(f"VISIBILITY must be private or public, not {value!r}")
    return text == "public"


def router(get_service, get_user, db: Path) -> APIRouter:
    """``/{job_list}/{job_id}/publish`` into the archive database ``db`` (mount it where the job lists are)."""
    r = APIRouter()
    path = "/{job_list}/{job_id}/publish"

    async def owned(request: Request, user, job_list: str, job_id: str) -> tuple:
        service = get_service(request)
        if job_list not in service.definitions:
            raise JobNotFound(f"No job list {job_list!r} here")
        return service, await service.get(user, job_list, job_id)

    def answer(fn):
        async def handler(request: Request, job_list: str, job_id: str, user=Depends(get_user)):
            try:
                return PlainTextResponse(await fn(request, user, job_list, job_id))
            except UWSError as exc:
                return PlainTextResponse(exc.message, status_code=exc.status_code)
        return handler

    async def post(request, user, job_list, job_id):
        service, job = await owned(request, user, job_list, job_id)
        form = await request.form()
        values = [v for k, v in [*request.query_params.multi_items(), *form.multi_items()] if k.upper() == "VISIBILITY"]
        public = _visibility(values[-1] if values else None)
        if job.phase != ExecutionPhase.COMPLETED:
            raise InvalidPhase(f"Job {job_id} is {job.phase.value}: only a COMPLETED job can be published")
        return await asyncio.to_thread(publish_job, service, db, job, public)

    async def delete(request, user, job_list, job_id):
        _, job = await owned(request, user, job_list, job_id)
        removed = await asyncio.to_thread(unpublish_job, db, job.job_id)
        return "unpublished" if removed else "unpublished (it was not published)"

    async def get(request, user, job_list, job_id):
        _, job = await owned(request, user, job_list, job_id)
        found = await asyncio.to_thread(publication.publication, db, job.job_id)
        return "unpublished" if found is None else ("public" if found.public else "private")

    r.add_api_route(path, answer(post), methods=["POST"], name="uws_publish")
    r.add_api_route(path, answer(delete), methods=["DELETE"], name="uws_unpublish")
    r.add_api_route(path, answer(get), methods=["GET"], name="uws_publication")
    return r

