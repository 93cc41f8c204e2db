"""DataLink over the network, in a worker thread: which documents to ask for, asking, parsing (pyvo), previews.

Everything goes through the widgets' one client (:class:`~widgets.client.PortalClient`: its token is sent only
to its own service), and the documents are parsed by pyvo (:class:`pyvo.dal.adhoc.DatalinkResults` over
astropy's VOTable parser): any DataLink 1.x service is read, not only the portal's. Nothing here raises at the
user: a document that cannot be had is an :class:`~widgets.datalink.links.ObsLinks` with a ``problem`` sentence.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np

from widgets.client import PortalClient, ServiceError
from widgets.datalink.links import LinkRow, ObsLinks, Service, sentence

__all__ = ["LookupProblem", "Target", "fetch_links", "fetch_preview", "resolve", "targets_from_table"]

COLUMNS = ("ID", "access_url", "service_def", "error_message", "description", "semantics", "content_type",
           "content_length", "content_qualifier", "local_semantics", "link_auth")
PREVIEW_TIMEOUT = 120.0  # seconds: a counts map is drawn on the service's first request for it


class LookupProblem(Exception):
    """What to show instead of links (a sentence)."""


@dataclass(frozen=True)
class Target:
    """A DataLink document to ask for: its URL, and a label for the person (``hess-dl3-dr1 23523 (Crab)``)."""

    url: str
    label: str


# -- which documents --------------------------------------------------------------------------------------------
def row_value(row, name: str):
    """``row[name]`` as a plain value (None when the column is absent, masked or empty)."""
    names = {c.lower(): c for c in row.colnames}
    if name.lower() not in names:
        return None
    value = row[names[name.lower()]]
    if np.ma.is_masked(value):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def links_url(client: PortalClient, did: str) -> str:
    """The DataLink document of ``did`` on the client's service (``/datalink?ID=...``)."""
    return f"{client.url}/datalink?ID={quote(did, safe='')}"


def _label(row) -> str:
    collection, obs_id, target = (row_value(row, n) for n in ("obs_collection", "obs_id", "target_name"))
    did = row_value(row, "obs_publisher_did")
    words = " ".join(str(v) for v in (collection, obs_id) if v is not None) or did or "observation"
    return f"{words} ({target})" if target else words


def targets_from_table(table, client: PortalClient) -> list[Target]:
    """The DataLink document of each ObsCore row: its ``access_url`` when ``access_format`` says it is DataLink,
    else the client's service asked for its ``obs_publisher_did``. A row with neither raises LookupProblem."""
    targets = []
    for row in table:
        url, fmt, did = row_value(row, "access_url"), row_value(row, "access_format"), row_value(row, "obs_publisher_did")
        if url and (fmt is None or "datalink" in str(fmt).lower()):
            targets.append(Target(str(url), _label(row)))
        elif did:
            targets.append(Target(links_url(client, str(did)), _label(row)))
        else:
            raise LookupProblem("The selected rows have no access_url (DataLink) nor obs_publisher_did column: "
                                "select the observations from a search that keeps them (SELECT * does).")
    return targets


def _adql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def resolve(value, client: PortalClient) -> list[Target]:
    """``show(...)``'s argument as documents to ask for (in a worker thread: it may ask the archive over TAP).

    A URL is a DataLink document (an ObsCore ``access_url``); ``ivo://...`` an ``obs_publisher_did``;
    ``collection/obs_id`` or an ``obs_id`` (number or text) is looked up in the client's ``ivoa.obscore``.
    """
    text = str(value).strip()
    if not text:
        raise LookupProblem("Give an observation: its obs_id, its obs_publisher_did or its DataLink URL.")
    if re.match(r"^https?://", text, re.I):
        ids = parse_qs(urlsplit(text).query).get("ID") or [text]
        return [Target(text, ids[0])]
    if text.lower().startswith("ivo://"):
        return [Target(links_url(client, text), text)]
    collection, _, obs_id = text.rpartition("/")
    where = f"obs_id = {_adql_text(obs_id)}" + (f" AND obs_collection = {_adql_text(collection)}" if collection else "")
    query = ("SELECT obs_publisher_did, obs_collection, obs_id, target_name, access_url, access_format "
             f"FROM ivoa.obscore WHERE {where} ORDER BY obs_collection")
    try:
        table = client.tap_service().run_sync(query, maxrec=100).to_table()
    except Exception as exc:  # noqa: BLE001 - pyvo's and requests' errors, said in a sentence
        raise LookupProblem(_tap_failure(exc, client.tap_url, text)) from None
    if len(table) == 0:
        raise LookupProblem(f"No observation {text} in the archive at {client.tap_url}.")
    return targets_from_table(table, client)


def _tap_failure(exc: BaseException, url: str, what: str) -> str:
    import requests

    seen, cause = set(), exc
    while cause is not None and id(cause) not in seen:  # pyvo wraps requests' errors
        seen.add(id(cause))
        if isinstance(cause, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            how = "no answer in time" if isinstance(cause, requests.exceptions.Timeout) else "connection failed"
            return (f"The archive at {url} cannot be reached ({how}) to look up observation {what}. "
                    "Is `portal serve` running, and is PORTAL_URL right?")
        cause = getattr(cause, "cause", None) or cause.__cause__ or cause.__context__
    reason = " ".join(str(getattr(exc, "reason", "") or exc).split())[:300] or type(exc).__name__
    return f"The archive at {url} could not look up observation {what} ({reason})."


# -- asking ----------------------------------------------------------------------------------------------------
def _parse(content: bytes, url: str):
    """pyvo's DatalinkResults of a document (DALQueryError for a document whose QUERY_STATUS is ERROR)."""
    from astropy.io.votable import parse
    from astropy.io.votable.exceptions import VOWarning
    from pyvo.dal.adhoc import DatalinkResults

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VOWarning)  # a remote service's small deviations are not the user's problem
        return DatalinkResults(parse(io.BytesIO(content)), url=url)


def _service(results, service_def: str | None) -> Service | None:
    if not service_def:
        return None
    try:
        resource = results.get_adhocservice_by_id(service_def)
    except Exception:  # noqa: BLE001 - a row pointing at a descriptor that is not in the document
        return None
    fixed = {p.name: p.value for p in resource.params}
    params = []
    for group in getattr(resource, "groups", []):
        if group.name != "inputParams":
            continue
        for p in group.entries:
            value = p.value
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
                continue
            params.append((str(p.name), str(value)))
    return Service(access_url=str(fixed.get("accessURL") or ""), standard_id=str(fixed.get("standardID") or ""),
                   description=" ".join(str(resource.description or "").split()), params=tuple(params))


def _rows(results) -> tuple[LinkRow, ...]:
    table = results.to_table()
    rows = []
    for row in table:
        values = {name: row_value(row, name) for name in COLUMNS}
        length = values["content_length"]
        values["content_length"] = int(length) if length is not None and int(length) > 0 else None
        values = {k: (v if k == "content_length" or v is None else str(v)) for k, v in values.items()}
        if values["description"]:
            values["description"] = " ".join(values["description"].split())
        rows.append(LinkRow(id=values.pop("ID") or "", service=_service(results, values["service_def"]), **values))
    return tuple(rows)


def fetch_links(client: PortalClient, target: Target) -> ObsLinks:
    """The DataLink document of ``target``, parsed; never raises (a failure is the ``problem`` sentence)."""
    from pyvo.dal import DALQueryError

    def problem(text: str) -> ObsLinks:
        return ObsLinks(target.label, target.url, problem=text)

    try:
        response = client.request("GET", target.url, ok=range(200, 600))
    except ServiceError as exc:  # no answer: the service is down, or too slow
        return ObsLinks(target.label, target.url, problem=exc.message, reachable=exc.status is not None)
    body = response.content
    xml = "xml" in response.headers.get("content-type", "") or body.lstrip()[:1] == b"<"
    if not xml:
        if response.status_code != 200:
            return problem(client.error_for(response).message)
        return problem(f"{target.url.split('?')[0]} did not answer a DataLink document "
                       f"({response.headers.get('content-type') or 'no content type'}).")
    try:
        results = _parse(body, target.url)
    except DALQueryError as exc:  # the service's own sentence (QUERY_STATUS ERROR), e.g. a UsageFault
        return problem(sentence(str(exc)))
    except Exception as exc:  # noqa: BLE001 - not a VOTable, or not DataLink's: whatever astropy and pyvo raise
        if response.status_code != 200:
            return problem(client.error_for(response).message)
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return problem(f"{target.url.split('?')[0]} answered a document that is not DataLink ({reason}).")
    if response.status_code != 200:
        return problem(client.error_for(response).message)
    return ObsLinks(target.label, target.url, _rows(results))


def fetch_preview(client: PortalClient, url: str) -> tuple[bytes, str]:
    """An image (bytes and its format: ``png``, ``jpeg``...) through the client; ServiceError otherwise."""
    response = client.get(url, timeout=PREVIEW_TIMEOUT)
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not kind.startswith("image/"):
        raise ServiceError(f"{url.split('?')[0]} did not answer an image ({kind or 'no content type'}).",
                           response.status_code, url)
    return response.content, kind.split("/", 1)[1]
