"""TAP async: each query is a UWS job of the portal's job core, run in a thread of the server.

The job list ``tap`` is served at ``/tap/async`` (see :mod:`portal.archive.async_handlers`).
Jobs are persisted in ``$PORTAL_DATA_DIR/tap/async.sqlite``; a job's uploaded tables and the
server's public URL (for absolute access_url values) are kept in its folder, under ``inputs/``.
The result is the job result ``result``; a failed query ends the job in ERROR with the same
message a sync query would give.
"""

from __future__ import annotations

from pathlib import Path

from portal.archive import service as tap
from portal.archive.errors import TapError
from portal.uws.definitions import JobDefinition, Parameter, ResultSpec, UsageError

JOB_LIST = "tap"
INPUTS = "inputs"
BASE_URL_FILE = "base_url"
EXECUTION = (600, 3600)  # default and hard executionDuration, seconds
_DOC = "TAP 1.1 parameter (see the TAP capabilities)"
TAP_PARAMETERS = ("REQUEST", "LANG", "QUERY", "MAXREC", "RESPONSEFORMAT", "FORMAT", "UPLOAD")

TAP_QUERY_DEFINITION = JobDefinition(
    name=JOB_LIST,
    description="An ADQL query on the archive (TAP 1.1 async)",
    run="portal.archive.tap_async:run_job",
    parameters=tuple(Parameter(name, "string", _DOC, default="") for name in TAP_PARAMETERS),
    results=(ResultSpec("result", "application/x-votable+xml", "the query result (or CSV/TSV as asked)"),),
    execution_duration=EXECUTION[0],
)


def inputs_dir(workdir: Path) -> Path:
    return Path(workdir) / INPUTS


def save_inputs(workdir: Path, base_url: str, files: dict[str, bytes]) -> None:
    """Keep what the job needs beyond its parameters: the public URL and the uploaded parts."""
    folder = inputs_dir(workdir)
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    (folder / BASE_URL_FILE).write_text(base_url)
    for index, (name, content) in enumerate(files.items()):
        (folder / "parts" / f"{index}.vot").write_bytes(content)
        (folder / "parts" / f"{index}.name").write_text(name)


def _load_inputs(workdir: Path) -> tuple[str, dict[str, bytes]]:
    folder = inputs_dir(workdir)
    base = (folder / BASE_URL_FILE).read_text() if (folder / BASE_URL_FILE).is_file() else ""
    files = {}
    for name_file in sorted((folder / "parts").glob("*.name")):
        files[name_file.read_text()] = name_file.with_suffix(".vot").read_bytes()
    return base, files


def run_job(ctx, params: dict) -> None:
    """The job function: check the TAP parameters, run the query, publish ``result``."""
    base_url, files = _load_inputs(ctx.workdir)
    given = {k.lower(): v for k, v in params.items() if v not in (None, "")}
    try:
        query = tap.parse_params(given, files)
        ctx.log.info("query: %s", query.query)
        body = tap.run_query(ctx.archive_db, query, base_url, time_limit=EXECUTION[1],
                             on_open=lambda conn: ctx.on_abort(conn.interrupt))
    except TapError as exc:
        if ctx.abort_requested.is_set():
            return  # the runner reports ABORTED (or the execution duration exceeded)
        raise UsageError(exc.message) from None
    suffix = {"csv": ".csv", "tsv": ".tsv"}.get(query.fmt.name, ".vot")
    path = Path(ctx.workdir) / f"result{suffix}"
    path.write_bytes(body)
    ctx.publish("result", path, query.fmt.mime)
    ctx.log.info("result: %d bytes", len(body))
