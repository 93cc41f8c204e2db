"""The parameters of a DataLink links request, read the same way by ``/datalink`` and ``/datalink/products``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from portal.datalink.votable import DATALINK, error_votable

__all__ = ["ACCEPTED_FORMATS", "MAX_IDS", "read_ids"]

# DataLink 1.1: the links document is a VOTable; these spellings all ask for it
ACCEPTED_FORMATS = {"application/x-votable+xml", "text/xml", "votable", "application/xml"}
MAX_IDS = 100


async def read_ids(request: Request, what: str) -> list[str] | Response:
    """The ``ID`` values of a links request (query string and form), or its UsageFault answer: a
    RESPONSEFORMAT other than DataLink's, no ID (``what`` says what an ID is), more than ``MAX_IDS``."""
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        params += list((await request.form()).multi_items())
    formats = [str(v) for k, v in params if k.upper() == "RESPONSEFORMAT"]
    ids = [str(v) for k, v in params if k.upper() == "ID" and str(v).strip()]
    if any(f.split(";")[0].strip() not in ACCEPTED_FORMATS for f in formats):
        fault = f"RESPONSEFORMAT {formats[0]!r} is not supported; use {DATALINK}"
    elif not ids:
        fault = f"the ID parameter is required ({what})"
    elif len(ids) > MAX_IDS:
        fault = f"at most {MAX_IDS} ID values per request"
    else:
        return ids
    return Response(error_votable(f"UsageFault: {fault}"), status_code=400, media_type=DATALINK)
