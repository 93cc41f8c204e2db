"""DataLink for published products: ``/datalink/products?ID=`` and their files at ``/data/products``.

A product's links (DataLink 1.1 semantics):

- ``#this``: the product's file (flux points, light curve, map);
- ``#auxiliary``: the job's other files (fitted model, reduced datasets, inputs, preview, log);
- ``#provenance``: its ProvDM record, as PROV-JSON and as PROV-N;
- ``#progenitor``: the DataLink document of each observation it was made from.

The same visibility rule as TAP (:mod:`portal.archive.visibility`): a private product exists only for
its owner's token; for anyone else its ID is unknown (NotFoundFault, or 404 for a file). Files are
served by result id from the publication's own copies, never by a path the caller gives.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from portal.archive import publication
from portal.archive.http import caller
from portal.archive.store import db_path
from portal.datalink.params import read_ids
from portal.datalink.votable import DATALINK, Link, datalink_votable

__all__ = ["router", "links"]

router = APIRouter()
PROVENANCE_FILES = {"provenance": ("PROV-JSON", "prov-json"), "provn": ("PROV-N", "prov-n")}


def _visible(product: publication.Product | None, user: str | None) -> bool:
    return product is not None and (product.publication.public or (user is not None
                                                                  and user == product.publication.owner))


def _find(request: Request, did: str, user: str | None) -> publication.Product | None:
    product = publication.product(db_path(request.app.state.settings.data_dir), did)
    return product if _visible(product, user) else None


def links(product: publication.Product, base_url: str) -> list[Link]:
    did = product.did
    auth = "false" if product.publication.public else "true"  # a private product needs its owner's token
    data = f"{base_url}/data/products?ID={quote(did, safe='')}&FILE="
    out = []
    for f in product.publication.files:
        if f["id"] == product.result_id:
            semantics, text = "#this", f"{product.title}"
        elif f["id"] in PROVENANCE_FILES:
            name, local = PROVENANCE_FILES[f["id"]]
            out.append(Link(did, access_url=data + quote(f["id"]), semantics="#provenance",
                            description=f"ProvDM record of the job that made this product ({name})",
                            content_type=f["mime_type"], content_length=f.get("size"), local_semantics=local,
                            link_auth=auth))
            continue
        else:
            semantics, text = "#auxiliary", f"{f['id']} of the {product.publication.job_list} job that made it"
        out.append(Link(did, access_url=data + quote(f["id"]), semantics=semantics, description=text,
                        content_type=f["mime_type"], content_length=f.get("size"), local_semantics=f["id"],
                        link_auth=auth))
    for obs in product.progenitors:
        out.append(Link(did, access_url=f"{base_url}/datalink?ID={quote(obs, safe='')}", semantics="#progenitor",
                        description=f"DataLink of the observation {obs.rsplit('?', 1)[-1]} it was made from",
                        content_type=DATALINK, local_semantics="observation"))
    return out


@router.api_route("/datalink/products", methods=["GET", "POST"])
async def datalink(request: Request) -> Response:
    """DataLink 1.1 links of published products: ``ID`` (repeatable) is their ``obs_publisher_did``."""
    ids = await read_ids(request, "an obs_publisher_did of a product in ivoa.obscore")
    if isinstance(ids, Response):
        return ids
    user = await caller(request)
    base = str(request.base_url).rstrip("/")
    rows: list[Link] = []
    for did in ids:
        product = await run_in_threadpool(_find, request, did, user)
        if product is None:
            rows.append(Link(did, error_message=f"NotFoundFault: no published product {did} (or it is private)"))
        else:
            rows.extend(links(product, base))
    return Response(datalink_votable(rows, []), media_type=DATALINK)


@router.api_route("/data/products", methods=["GET", "HEAD"])
async def data(request: Request, ID: str = "", FILE: str = "") -> Response:  # noqa: N803 - DataLink names
    """A file of a published product, by the product's ID and the file's result id."""
    if not ID or not FILE:
        return PlainTextResponse("ID (a product's obs_publisher_did) and FILE (a result id) are required\n",
                                 status_code=400)
    product = await run_in_threadpool(_find, request, ID, await caller(request))
    entry = next((f for f in product.publication.files if f["id"] == FILE), None) if product else None
    if entry is None:
        return PlainTextResponse(f"no file {FILE!r} of a published product {ID}\n", status_code=404)
    root = Path(product.publication.folder).resolve()
    path = (root / entry["path"]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return PlainTextResponse(f"the file {FILE!r} of product {ID} has gone from the publication store\n",
                                 status_code=404)
    return FileResponse(path, media_type=entry["mime_type"], filename=f"{product.publication.job_id}_{path.name}")
