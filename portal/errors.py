"""The last line of defence: an unexpected error reaches the user as a sentence, never a traceback.

Every service answers its own expected errors in its own form (TAP and DataLink as VOTable error
documents, UWS with a plain message and the right status). Whatever else goes wrong is logged
with its traceback under a short reference, and the client gets a 500 that says what happened,
which request, and the reference to quote.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.requests import ClientDisconnect

log = logging.getLogger("portal.errors")


async def unexpected_error(request: Request, exc: Exception) -> PlainTextResponse:
    reference = secrets.token_hex(4)
    log.error("unexpected error %s answering %s %s", reference, request.method, request.url.path,
              exc_info=(type(exc), exc, exc.__traceback__))
    message = (f"The portal could not answer {request.method} {request.url.path}: an unexpected error "
               f"happened on the server (reference {reference}, in its log). Nothing you sent was lost; "
               "try again, and report the reference if it keeps happening.\n")
    return PlainTextResponse(message, status_code=500)


async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
    """The client closed the connection (or was cut off for a body too slow) while its request was read:
    nobody reads an answer, and it is no error of the server's."""
    log.info("the client of %s %s closed the connection before its request arrived", request.method,
             request.url.path)
    return Response(status_code=400)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(Exception, unexpected_error)
