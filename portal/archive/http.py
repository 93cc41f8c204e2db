"""Request helpers shared by the TAP handlers (sync and async)."""

from __future__ import annotations

from fastapi import Request, Response

from portal.archive import output, service, store
from portal.archive.errors import TapError
from portal.archive.uploads import MAX_UPLOAD_BYTES


def db_path(request: Request):
    return store.db_path(request.app.state.settings.data_dir)


def base_url(request: Request) -> str:
    """The server's public base URL, as the client reached it (for absolute access_url values)."""
    return str(request.base_url).rstrip("/")


def tap_url(request: Request) -> str:
    return base_url(request) + "/tap"


def error_response(exc: TapError) -> Response:
    return Response(output.votable_error(exc.message), status_code=exc.status, media_type=output.VOTABLE_MIME)


async def read_params(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """Query-string and form parameters (names lower-cased) and uploaded file parts."""
    pairs = list(request.query_params.multi_items())
    files: dict[str, bytes] = {}
    if request.method == "POST":
        try:
            form = await request.form(max_files=64, max_fields=256, max_part_size=MAX_UPLOAD_BYTES + 1)
        except Exception as exc:  # noqa: BLE001 - a malformed body is the client's error
            raise TapError(f"the request body cannot be read as a form: {exc}") from None
        for key, value in form.multi_items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                files[key] = await value.read()
                pairs.append((key, value.filename or ""))
        await form.close()
    return service.lower_keys(pairs), files
