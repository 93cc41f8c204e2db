"""The operators' job definition editor over HTTP (OPUS's job definition editor), under ``/uws/definitions``.

::

    GET    /uws/definitions                   {"folder", "definitions": [{"name", "origin", "file", "editable",
                                               "replaces_builtin", "description"}], "problems": [{"file", "line",
                                               "message"}]}: every kind, and every file refused, with its sentence
    GET    /uws/definitions/{name}            the kind's file, as text (X-Definition-Format: toml|yaml,
                                              X-Definition-Origin: built-in|folder)
    PUT    /uws/definitions/{name}            the file's new text (?format=toml|yaml, else from the Content-Type;
                                              default toml): checked, then written to the operators' folder
                                              atomically -> 200 JSON; refused -> 400 with the sentence (file, line)
    DELETE /uws/definitions/{name}            remove the folder's file (a built-in kind it replaced comes back)
    POST   /uws/definitions/validate          ?name=&format= with the text as body -> 200 {"valid", "message",
                                              "line"}: the same checks as PUT, nothing written

Only operators may (:func:`portal.auth.require_operator`: `portal token create NAME --operator`): everyone
else gets 403, a caller without a valid token 401. Names are kind names (letters, digits, ``_`` and ``-``),
never paths, so nothing is read or written outside the folder. A saved file is live at once (``/uws`` lists
the kind, a job of it runs); the service also reads the folder again every few seconds for files changed by
hand.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from portal.auth import require_operator
from portal.uws.definition_files import DefinitionProblem, check_name
from portal.uws.definition_registry import FOLDER, PYTHON, DefinitionRegistry

__all__ = ["router"]

MAX_BODY = 1 << 20
MEDIA = {"toml": "application/toml; charset=utf-8", "yaml": "application/yaml; charset=utf-8"}


def _registry(request: Request) -> DefinitionRegistry:
    return request.app.state.uws_definitions


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "").strip().lower()
    if not fmt:
        fmt = "yaml" if "yaml" in request.headers.get("content-type", "").lower() else "toml"
    return "yaml" if fmt == "yml" else fmt


async def _text(request: Request) -> str | Response:
    body = await request.body()
    if len(body) > MAX_BODY:
        return PlainTextResponse(f"A definition file may hold at most {MAX_BODY >> 10} KiB.", status_code=413)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return PlainTextResponse("The definition must be UTF-8 text.", status_code=400)


def _bad_name(name: str) -> Response | None:
    problem = check_name(name)
    return PlainTextResponse(problem[:1].upper() + problem[1:] + ".", status_code=400) if problem else None


def router() -> APIRouter:
    r = APIRouter(prefix="/definitions")

    @r.get("", name="uws_definition_files")
    async def listing(request: Request, user: str = Depends(require_operator)) -> Response:
        registry = _registry(request)
        await asyncio.to_thread(registry.refresh)
        rows, problems = registry.listing()
        return JSONResponse({"folder": str(registry.folder) if registry.folder else None, "definitions": rows,
                             "problems": problems})

    @r.post("/validate", name="uws_definition_validate")
    async def validate(request: Request, user: str = Depends(require_operator)) -> Response:
        text = await _text(request)
        if isinstance(text, Response):
            return text
        name = request.query_params.get("name", "")
        try:
            definition = await asyncio.to_thread(_registry(request).check, name, text, _format(request))
        except DefinitionProblem as problem:
            return JSONResponse({"valid": False, "message": str(problem), "line": problem.line})
        return JSONResponse({"valid": True, "line": None, "message": (
            f"The definition of {definition.name} is valid: {len(definition.parameters)} parameter(s), "
            f"{len(definition.results)} result(s).")})

    @r.get("/{name}", name="uws_definition_file")
    async def read(name: str, request: Request, user: str = Depends(require_operator)) -> Response:
        if (bad := _bad_name(name)) is not None:
            return bad
        registry = _registry(request)
        if name in registry.python:
            return PlainTextResponse(f"The kind {name} is defined in Python (PORTAL_JOB_DEFINITIONS), not by a "
                                     "file, so it cannot be edited here.", status_code=409)
        found = await asyncio.to_thread(registry.text, name)
        if found is None:
            return PlainTextResponse(f"No job definition file for {name}.", status_code=404)
        text, fmt, origin = found
        return Response(text, media_type=MEDIA[fmt],
                        headers={"X-Definition-Format": fmt, "X-Definition-Origin": origin})

    @r.put("/{name}", name="uws_definition_save")
    async def save(name: str, request: Request, user: str = Depends(require_operator)) -> Response:
        if (bad := _bad_name(name)) is not None:
            return bad
        text = await _text(request)
        if isinstance(text, Response):
            return text
        registry = _registry(request)
        try:
            definition = await asyncio.to_thread(registry.save, name, text, _format(request))
        except DefinitionProblem as problem:
            return PlainTextResponse(str(problem), status_code=400)
        entry = registry.entry(name)
        return JSONResponse({"name": definition.name, "origin": FOLDER, "file": entry.path.name if entry else None,
                             "message": f"Saved {definition.name}: the job service offers it now."})

    @r.delete("/{name}", name="uws_definition_delete")
    async def delete(name: str, request: Request, user: str = Depends(require_operator)) -> Response:
        if (bad := _bad_name(name)) is not None:
            return bad
        registry = _registry(request)
        if await asyncio.to_thread(registry.delete, name):
            entry = registry.entry(name)
            back = " The built-in definition is back." if entry is not None else ""
            return PlainTextResponse(f"Removed the definition file of {name}.{back}")
        if name in registry.python or registry.entry(name) is not None:
            origin = PYTHON if name in registry.python else "built-in"
            return PlainTextResponse(f"The kind {name} is {origin} and has no file in the definitions folder: it "
                                     "cannot be deleted here.", status_code=409)
        return PlainTextResponse(f"No job definition file for {name}.", status_code=404)

    return r
