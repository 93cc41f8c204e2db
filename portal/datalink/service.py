"""The DataLink service: the links of an observation, and the files behind them."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from portal.datalink.files import FITS, HDUCutter, file_content_type
from portal.datalink.lookup import ArchiveLookup, NotFound, Observation, Unreadable, reason
from portal.datalink.preview import PNG, PreviewMaker
from portal.datalink.votable import Link, ServiceDescriptor, ServiceParam, datalink_votable

# hdu type -> (semantics, description)
HDU_LINKS = {
    "events": ("#auxiliary", "event list (EVENTS HDU)"),
    "gti": ("#auxiliary", "good time intervals (GTI HDU)"),
    "aeff": ("#calibration", "effective area IRF"),
    "edisp": ("#calibration", "energy dispersion IRF"),
    "psf": ("#calibration", "point spread function IRF"),
    "bkg": ("#calibration", "background model IRF"),
    "rad_max": ("#calibration", "on-region radius (RAD_MAX) of the point-like IRFs"),
}
CACHED_DOCUMENTS = 2048
log = logging.getLogger("portal.datalink")
_VOTABLE_TYPES = {"int": "long", "float": "double", "bool": "boolean"}


class DataLinkService:
    """Links and files of the archive's observations (the archive DB is only read)."""

    def __init__(self, db_path: Path, cache_dir: Path, spectrum_definition=None):
        self.lookup = ArchiveLookup(db_path)
        self.cutter = HDUCutter(Path(cache_dir) / "hdus")
        self.previews = PreviewMaker(Path(cache_dir) / "previews")
        self.spectrum = spectrum_definition
        self._lock = threading.Lock()
        self._documents: OrderedDict[tuple, bytes] = OrderedDict()

    def observation(self, did: str) -> Observation:
        return self.lookup.find(did)

    def document(self, ids: list[str], base_url: str) -> bytes:
        """The DataLink VOTable for ``ids`` (unknown ids become rows with an error_message).

        Documents are cached: writing a VOTable with astropy costs tens of milliseconds, looking up
        whether anything changed (the observation's files, whether its preview is drawn) does not.
        """
        found: list[Observation | LookupError] = []
        for did in ids:
            try:
                found.append(self.lookup.find(did))
            except (NotFound, Unreadable) as exc:
                found.append(exc)
        versions = []
        for n, obs in enumerate(found):
            try:
                versions.append(self._version(obs) if isinstance(obs, Observation) else (str(obs),))
            except (NotFound, Unreadable) as exc:  # no events file, or files missing from the release
                found[n] = exc
                versions.append((str(exc),))
            except OSError as exc:  # a file removed since the look-up
                found[n] = Unreadable(f"the files of observation {obs.did} cannot be read ({reason(exc)})")
                versions.append((str(found[n]),))
        key = (base_url, getattr(self.spectrum, "name", None), tuple(zip(ids, versions, strict=True)))
        with self._lock:
            if key in self._documents:
                self._documents.move_to_end(key)
                return self._documents[key]
        body = self._build(ids, found, base_url)
        with self._lock:
            self._documents[key] = body
            while len(self._documents) > CACHED_DOCUMENTS:
                self._documents.popitem(last=False)
        return body

    def _version(self, obs: Observation) -> tuple:
        stats = [h.path.stat() for h in obs.hdus]
        return (tuple((h.hdu_type, str(h.path), s.st_mtime_ns, s.st_size) for h, s in zip(obs.hdus, stats,
                                                                                          strict=True)),
                obs.missing, self.previews.cached(obs).is_file())

    def _build(self, ids: list[str], found: list, base_url: str) -> bytes:
        links: list[Link] = []
        services: list[ServiceDescriptor] = []
        for n, (did, obs) in enumerate(zip(ids, found, strict=True)):
            if not isinstance(obs, Observation):
                links.append(_error_link(did, obs))
                continue
            try:
                links.extend(self.links(obs, base_url))
            except Exception as exc:  # noqa: BLE001 - a broken release is an error row, never a 500
                if not isinstance(exc, NotFound | Unreadable):
                    log.warning("DataLink: the files of %s cannot be read", did, exc_info=True)
                    exc = Unreadable(f"the files of observation {did} cannot be read ({reason(exc)})")
                links.append(_error_link(did, exc))
                continue
            if self.spectrum is not None:
                service = self._spectrum_service(obs, base_url, f"spectrum-{n}")
                services.append(service)
                links.append(Link(did, service_def=service.id, semantics="#proc", description=service.description,
                                  local_semantics="spectrum", link_auth="true"))  # UWS needs a token
        return datalink_votable(links, services)

    def links(self, obs: Observation, base_url: str) -> list[Link]:
        data = f"{base_url}/data?ID={obs.quoted_id}"
        label = f"{obs.collection} observation {obs.obs_id}" + (f" ({obs.target_name})" if obs.target_name else "")
        events = obs.events
        kind = "gzip-compressed FITS" if file_content_type(events.path) != FITS else "FITS"
        links = [Link(obs.did, access_url=data, semantics="#this",
                      description=f"DL3 file of {label}: events, GTI and IRFs ({kind})",
                      content_type=file_content_type(events.path), content_length=events.path.stat().st_size,
                      content_qualifier="event", local_semantics="dl3")]
        for hdu in obs.hdus:
            semantics, what = HDU_LINKS[hdu.hdu_type]
            try:
                size = self.cutter.size(hdu)
            except Exception as exc:  # noqa: BLE001 - no such HDU, or a corrupt file: an error row
                problem = exc if isinstance(exc, NotFound) else Unreadable(f"{hdu.path.name} cannot be read ({reason(exc)})")
                links.append(_error_link(obs.did, problem, semantics, hdu.hdu_type))
                continue
            links.append(Link(obs.did, access_url=f"{data}&HDU={hdu.hdu_type}", semantics=semantics,
                              description=f"{what} of {label}, {hdu.hdu_class}, as a single-HDU FITS file",
                              content_type=FITS, content_length=size,
                              content_qualifier="event" if hdu.hdu_type == "events" else None,
                              local_semantics=hdu.hdu_type))
        for hdu_type, where in obs.missing:
            links.append(_error_link(obs.did, Unreadable(f"the {hdu_type} file {where} is missing from the release"),
                                     HDU_LINKS[hdu_type][0], hdu_type))
        preview = self.previews.cached(obs)
        links.append(Link(obs.did, access_url=f"{base_url}/data/preview?ID={obs.quoted_id}",
                          semantics="#preview-image", description=f"counts map of {label} (PNG)",
                          content_type=PNG, content_length=preview.stat().st_size if preview.is_file() else None,
                          local_semantics="counts-map"))
        return links

    def _spectrum_service(self, obs: Observation, base_url: str, xml_id: str) -> ServiceDescriptor:
        ra = obs.target_ra if obs.target_ra is not None else obs.ra
        dec = obs.target_dec if obs.target_dec is not None else obs.dec
        # qualified by its collection: the same obs id may be in several releases (refused when ambiguous)
        fixed = {"obs_ids": f"{obs.collection}/{obs.obs_id}", "ra": ra, "dec": dec}
        params = []
        for p in self.spectrum.parameters:
            value = fixed.get(p.name, None if p.required else p.default)
            params.append(ServiceParam(
                name=p.name, datatype=_VOTABLE_TYPES.get(p.type, "char"), value=value, description=p.doc,
                unit=p.unit, minimum=p.minimum, maximum=p.maximum, options=tuple(p.choices or ()),
            ))
        target = obs.target_name or f"({ra:.3f}, {dec:.3f})"
        return ServiceDescriptor(
            id=xml_id, access_url=f"{base_url}/uws/{self.spectrum.name}", params=tuple(params),
            description=(f"Launch a spectrum job on observation {obs.obs_id} of {target}: POST these parameters "
                         f"(with PHASE=RUN to start it) to the UWS job list, with a bearer token"),
        )


def _error_link(did: str, problem: LookupError, semantics: str = "#this", local: str | None = None) -> Link:
    """A DataLink 1.1 error row: NotFoundFault (no such observation or file) or FatalFault (the
    archive has it, but its release cannot be read)."""
    fault = "NotFoundFault" if isinstance(problem, NotFound) else "FatalFault"
    return Link(did, error_message=f"{fault}: {problem}", semantics=semantics, local_semantics=local)
