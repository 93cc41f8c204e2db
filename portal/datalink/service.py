"""The DataLink service: the links of an observation, and the files behind them."""

from __future__ import annotations

from pathlib import Path

from portal.datalink.files import FITS, HDUCutter, file_content_type
from portal.datalink.lookup import ArchiveLookup, NotFound, Observation
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
_VOTABLE_TYPES = {"int": "long", "float": "double", "bool": "boolean"}


class DataLinkService:
    """Links and files of the archive's observations (the archive DB is only read)."""

    def __init__(self, db_path: Path, cache_dir: Path, spectrum_definition=None):
        self.lookup = ArchiveLookup(db_path)
        self.cutter = HDUCutter(Path(cache_dir) / "hdus")
        self.previews = PreviewMaker(Path(cache_dir) / "previews")
        self.spectrum = spectrum_definition

    def observation(self, did: str) -> Observation:
        return self.lookup.find(did)

    def document(self, ids: list[str], base_url: str) -> bytes:
        """The DataLink VOTable for ``ids`` (unknown ids become rows with an error_message)."""
        links: list[Link] = []
        services: list[ServiceDescriptor] = []
        for n, did in enumerate(ids):
            try:
                obs = self.lookup.find(did)
            except NotFound as exc:
                links.append(Link(did, error_message=f"NotFoundFault: {exc}", semantics="#this"))
                continue
            links.extend(self.links(obs, base_url))
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
            except NotFound as exc:
                links.append(Link(obs.did, error_message=f"NotFoundFault: {exc}", semantics=semantics,
                                  local_semantics=hdu.hdu_type))
                continue
            links.append(Link(obs.did, access_url=f"{data}&HDU={hdu.hdu_type}", semantics=semantics,
                              description=f"{what} of {label}, {hdu.hdu_class}, as a single-HDU FITS file",
                              content_type=FITS, content_length=size,
                              content_qualifier="event" if hdu.hdu_type == "events" else None,
                              local_semantics=hdu.hdu_type))
        preview = self.previews.cached(obs)
        links.append(Link(obs.did, access_url=f"{base_url}/data/preview?ID={obs.quoted_id}",
                          semantics="#preview-image", description=f"counts map of {label} (PNG)",
                          content_type=PNG, content_length=preview.stat().st_size if preview.is_file() else None,
                          local_semantics="counts-map"))
        return links

    def _spectrum_service(self, obs: Observation, base_url: str, xml_id: str) -> ServiceDescriptor:
        ra = obs.target_ra if obs.target_ra is not None else obs.ra
        dec = obs.target_dec if obs.target_dec is not None else obs.dec
        fixed = {"obs_ids": str(obs.obs_id), "ra": ra, "dec": dec}
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
