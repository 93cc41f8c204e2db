"""HTTP handlers of the TAP service (`/tap`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from vo_models.vosi.availability import Availability

router = APIRouter()

XML = "application/xml"


@router.get("/availability")
def availability(request: Request) -> Response:
    """VOSI availability: the service answers as soon as it is up, even with an empty archive."""
    settings = request.app.state.settings
    notes = [f"gamma-portal archive, state in {settings.data_dir}"]
    body = Availability(available=True, note=notes).to_xml(encoding=str)
    return Response(content=body, media_type=XML)
