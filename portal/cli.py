"""The `portal` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from portal.config import Settings
from portal.supervise import BACKOFF, RESTARTS, WINDOW


def _serve(args: argparse.Namespace) -> int:
    import os
    import signal

    from portal.app import create_app, end_waits
    from portal.serving.server import serve

    # a first start on a fresh machine takes the whole default-dataset chain (local, download, simulated)
    os.environ.setdefault("PORTAL_DEFAULT_DATASET", "auto")
    _log_portal_events(os.environ.get("PORTAL_LOG_LEVEL", "INFO"))
    app = create_app(Settings.from_env())
    # whatever was inherited, SIGINT, SIGTERM and SIGHUP stop the server cleanly (uvicorn handles
    # the first two once it runs; SIGHUP is made a SIGTERM); none stays blocked
    signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
    signal.signal(signal.SIGHUP, lambda _signum, _frame: signal.raise_signal(signal.SIGTERM))
    # with the portal's HTTP limits (PORTAL_HTTP_*; docs/configuration.md), and blocking WAITs end at a stop
    serve(app, args.host, args.port, args.log_level, on_stop=[lambda: end_waits(app)])
    return 0


def _log_portal_events(level: str) -> None:
    """The services' own messages (default dataset, ingest, jobs) on stderr, beside uvicorn's."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("portal")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def _token(args: argparse.Namespace) -> int:
    from portal.auth import TokenStore, token_path
    from portal.auth.tokens import InvalidUserName

    if args.action != "list" and not args.name:
        print(f"error: `portal token {args.action}` needs a user NAME", file=sys.stderr)
        return 2
    if args.operator and args.action != "create":
        print("error: --operator goes with `portal token create NAME`", file=sys.stderr)
        return 2
    store = TokenStore(token_path(Settings.from_env().data_dir))
    if args.action == "create":
        try:
            token = store.create(args.name, operator=args.operator)
        except InvalidUserName as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(token)
        role = "operator token" if args.operator else "token"
        print(f"{role} for {args.name} created; send it as 'Authorization: Bearer <token>' "
              "or set PORTAL_TOKEN", file=sys.stderr)
        return 0
    if args.action == "revoke":
        count = store.revoke_user(args.name)
        print(f"revoked {count} token(s) of {args.name}", file=sys.stderr)
        return 0 if count else 1
    for user, count in store.users():
        print(f"{user}\t{count}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from portal.archive.ingest import IngestError, ingest_release, ingest_synthetic
    from portal.archive.store import db_path

    if not args.paths and args.synthetic is None:
        print("error: give release folders (PATH...) or --synthetic N", file=sys.stderr)
        return 2
    if args.collection is not None and len(args.paths) != 1:
        print("error: --collection names one release: give exactly one PATH with it", file=sys.stderr)
        return 2
    db = db_path(Settings.from_env().data_dir)
    try:
        for path in args.paths:
            added = ingest_release(db, path, collection=args.collection)
            print(f"{path}: {added} observation(s) added" + ("" if added else " (already in the archive)"))
        if args.synthetic is not None:
            added = ingest_synthetic(db, args.synthetic, seed=args.seed)
            print(f"{added} synthetic row(s) added")
    except IngestError as exc:
        print(f"error: {exc}\nnothing was written for this release", file=sys.stderr)
        return 1
    print(f"archive: {db}")
    return 0


def _data(args: argparse.Namespace) -> int:
    from portal.datasets.download import DownloadError
    from portal.datasets.fetch import data_folder, fetch

    settings = Settings.from_env()
    if args.action == "path":
        folder = data_folder(settings)
        print(folder if folder is not None else "")
        return 0
    _log_portal_events("INFO" if args.verbose else "WARNING")
    try:
        folder, message = fetch(settings, Path(args.dest).expanduser() if args.dest else None)
    except DownloadError as exc:
        print(f"{'note' if args.optional else 'error'}: the gammapy data could not be downloaded: {exc}",
              file=sys.stderr)
        if args.optional:
            print("note: `portal serve` will simulate its default dataset instead; tests that need "
                  "$GAMMAPY_DATA are skipped", file=sys.stderr)
            return 0
        return 1
    print(message, file=sys.stderr)
    print(f"export GAMMAPY_DATA={folder}")
    return 0


def _up(args: argparse.Namespace) -> int:
    from portal.launcher import run_all

    return run_all(host=args.host, port=args.port, voila_port=args.voila_port, no_token=args.no_token)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal",
        description="Gamma-ray archive portal: the embedded VO archive (TAP/ObsCore), "
        "the UWS job service and the Voila dashboards.",
        epilog="Environment: PORTAL_DATA_DIR (all state), PORTAL_URL, PORTAL_TOKEN, "
        "GAMMAPY_DATA, PORTAL_DASK_SCHEDULER. See the README.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="serve the archive (/tap) and the job service (/uws) on one port",
        description="Start the archive (TAP 1.1, ObsCore 1.1, VOSI) and the job service "
        "(UWS 1.1) on one port, with DataLink (/datalink, /data) and the coverage MOC (/coverage). "
        "On first start with an empty archive the default dataset is ingested: "
        "$GAMMAPY_DATA/hess-dl3-dr1, else a download of H.E.S.S. DL3 DR1, else a simulated CTAO-like "
        "dataset (PORTAL_DEFAULT_DATASET=auto|local|download|simulated|none chooses); the log says which. "
        "Slow or surplus connections are cut off (PORTAL_HTTP_*), absolute URLs come from PORTAL_BASE_URL or "
        "PORTAL_TRUSTED_HOSTS, never a request's Host header; see docs/configuration.md.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    serve.set_defaults(func=_serve)

    up = sub.add_parser(
        "up",
        help="start `portal serve` and Voila together (what `make run` does)",
        description="Start the services and the Voila dashboards, print the dashboard URL (with Voila's token), "
        "and stop both on Ctrl-C, SIGTERM or SIGHUP; the servers also stop if `portal up` is killed. "
        f"A server that crashes is restarted after {BACKOFF:g}, {2 * BACKOFF:g}, {4 * BACKOFF:g}... s; after "
        f"{RESTARTS + 1} crashes within {WINDOW / 60:g} minutes `portal up` stops everything and exits with status 1.",
    )
    up.add_argument("--host", default="127.0.0.1", help="interface for both servers")
    up.add_argument("--port", type=int, default=8000, help="services port (default 8000)")
    up.add_argument("--voila-port", type=int, default=8866, help="Voila port (default 8866)")
    up.add_argument("--no-token", action="store_true",
                    help="serve the dashboards without a token (as PORTAL_VOILA_AUTH=none does): anyone who "
                    "reaches the Voila port uses them, and launches jobs, as PORTAL_TOKEN's owner. By default "
                    "Voila asks for PORTAL_VOILA_TOKEN, else a new random token, printed in the dashboard URL")
    up.set_defaults(func=_up)

    ingest = sub.add_parser(
        "ingest",
        help="add GADF DL3 releases (or synthetic rows) to the archive",
        description="Add GADF DL3 releases to the archive: each PATH is a folder with obs-index and "
        "hdu-index, with full-enclosure or point-like (RAD_MAX) IRFs. One ObsCore row per observation. "
        "Ingest is idempotent (observations already there are skipped) and transactional (a broken "
        "release is refused with a message naming the file, and nothing is written). "
        "The archive is $PORTAL_DATA_DIR/archive.sqlite.",
    )
    ingest.add_argument("paths", nargs="*", metavar="PATH", help="GADF DL3 release folder(s)")
    ingest.add_argument("--collection", metavar="NAME",
                        help="name of the release in the archive (obs_collection and the identifiers); "
                        "default: the release's own name, the one-word title of its README, else its folder's "
                        "name (the folder above when it is called data)")
    ingest.add_argument("--synthetic", type=int, metavar="N", help="add N synthetic rows (scale tests)")
    ingest.add_argument("--seed", type=int, default=None, help="random seed for --synthetic")
    ingest.set_defaults(func=_ingest)

    data = sub.add_parser(
        "data",
        help="download the gammapy data (H.E.S.S. DL3 DR1, catalogs) or print where it is",
        description="`portal data fetch` downloads H.E.S.S. DL3 DR1 and the catalogs the SED needs from "
        "the gammapy-data repository into $PORTAL_DATA_DIR/gammapy-data (checksums, resume), unless "
        "$GAMMAPY_DATA already has DR1, and prints the GAMMAPY_DATA line to export. `portal data path` "
        "prints the folder to use as GAMMAPY_DATA (empty if none). `make setup` runs "
        "`portal data fetch --optional`.",
    )
    data.add_argument("action", choices=["fetch", "path"], help="download the data, or print its folder")
    data.add_argument("--dest", help="download into this folder instead of $PORTAL_DATA_DIR/gammapy-data")
    data.add_argument("--optional", action="store_true",
                      help="a failed download is a note, not an error (exit 0): for set-up offline")
    data.add_argument("--verbose", action="store_true", help="log each file")
    data.set_defaults(func=_data)

    token = sub.add_parser(
        "token",
        help="create, list or revoke the bearer tokens of the job service",
        description="Manage the bearer tokens that authenticate users of the job service (/uws). "
        "`portal token create NAME` prints a new token for user NAME (only its hash is stored, "
        "in $PORTAL_DATA_DIR/auth). Under JupyterHub, hub tokens are accepted as well.",
    )
    token.add_argument("action", choices=["create", "list", "revoke"],
                       help="create a token for NAME, list users with tokens, or revoke NAME's tokens")
    token.add_argument("name", nargs="?", help="user name (for create and revoke)")
    token.add_argument("--operator", action="store_true",
                       help="with create: the token carries the operator role, whose user may also list, edit, "
                       "validate and save the job definitions (/uws/definitions); other tokens get 403 there")
    token.set_defaults(func=_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
