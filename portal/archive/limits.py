"""What one TAP request may cost, in one place: time, output, uploads, URL fetches, anonymous async jobs.

The VOSI capabilities (TAPRegExt), the documentation (docs/archive.md, docs/reliability.md) and
the code all read these values. Operators change them with the environment:

==================================== =========================================================== ========
variable                             meaning                                                     default
==================================== =========================================================== ========
``PORTAL_TAP_SYNC_TIMEOUT``          seconds a sync query may take in all: reading the uploads,  60
                                     parsing, SQL and writing the result
``PORTAL_TAP_MAX_OUTPUT_BYTES``      a result larger than this is cut (QUERY_STATUS=OVERFLOW)    100000000
``PORTAL_TAP_UPLOAD_HOSTS``          hosts anonymous callers may upload tables from by URL       (none:
                                     (comma-separated; ``*.example.org`` for its subdomains,     off)
                                     ``*`` for any public host)
``PORTAL_TAP_UPLOAD_TRUSTED_NETWORKS`` networks (CIDR) a URL upload may reach although they are  (none)
                                     not public (an intranet VO service)
``PORTAL_TAP_UPLOAD_DEADLINE``       seconds one URL upload may take in all (not per read)       20
``PORTAL_TAP_ANON_MAX_JOBS``         async jobs anonymous callers may hold at once, in total     200
``PORTAL_TAP_ANON_MAX_BYTES``        bytes those jobs may hold (uploads and results), in total   1000000000
``PORTAL_TAP_SYNC_PER_CALLER``       sync queries one caller (a token's user, else an address)   3
                                     may run at once; never all the query threads (at most
                                     ``PORTAL_TAP_QUERY_THREADS`` - 1)
``PORTAL_TAP_SYNC_CALLER_WAIT``      seconds a query beyond that cap waits for a slot (holding   10
                                     no thread) before the 429 answer (with Retry-After)
``PORTAL_TAP_ANON_MAX_JOIN_ROWS``    row combinations an anonymous sync query may go through in  100000
                                     tables joined with no usable constraint (its query plan)
==================================== =========================================================== ========

Token holders' async jobs have per-user quotas of their own (``portal.config.JobLimits``:
``PORTAL_UWS_MAX_JOBS_PER_USER`` and the others), stated in the capabilities with these limits.

Authenticated callers (a bearer token) may upload by URL from any public host. Whoever calls,
a URL upload never reaches loopback, private, link-local, multicast or reserved addresses
(unless in a trusted network), at any redirect.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from portal.config import env_number

__all__ = ["Limits", "MAX_UPLOAD_BYTES", "MAX_REQUEST_BYTES", "MAX_URL_UPLOADS"]

MAX_UPLOAD_BYTES = 20_000_000  # one uploaded table, inline or by URL
MAX_REQUEST_BYTES = 40_000_000  # all the uploads of one request together
MAX_FORM_BYTES = 1_000_000  # the other fields of a form (an ADQL query is at most 100,000 characters)
MAX_UPLOAD_ROWS = 200_000
MAX_URL_UPLOADS = 4  # URL uploads per request
MAX_REDIRECTS = 5
MAX_CONCURRENT_FETCHES = 32  # URL fetches in progress in the whole server


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    return env_number(env, name, default, positive=True)  # a limit of 0 would refuse everything


def quota_sentence(quotas, what: str = "jobs") -> str:
    """The per-user quotas (a :class:`portal.config.JobLimits`) in one sentence; 0 is no limit."""
    def most(n: int, unit: str = "") -> str:
        return "no limit" if not n else f"at most {n:,}{unit}"
    return (f"Each token holder's {what}: {most(quotas.max_jobs_per_user)} held, "
            f"{most(quotas.max_bytes_per_user, ' bytes')} on disk, {most(quotas.max_queued_per_user)} waiting to "
            "run (past one of them, 429 with a sentence saying which; delete or abort many jobs at once with "
            "POST ACTION=DELETE or PHASE=ABORT and JOB=<id>... to the job list).")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip().lower() for item in (env.get(name) or "").split(",") if item.strip())


@dataclass(frozen=True)
class Limits:
    sync_seconds: float = 60.0
    max_output_bytes: int = 100_000_000
    upload_hosts: tuple[str, ...] = ()
    trusted_networks: tuple = field(default=())
    upload_deadline: float = 20.0
    anonymous_jobs: int = 200
    anonymous_bytes: int = 1_000_000_000
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_request_bytes: int = MAX_REQUEST_BYTES
    max_url_uploads: int = MAX_URL_UPLOADS
    sync_per_caller: int = 3
    sync_caller_wait: float = 10.0
    anonymous_join_rows: int = 100_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Limits":
        env = os.environ if environ is None else environ
        try:
            networks = tuple(ipaddress.ip_network(n, strict=False)
                             for n in _list(env, "PORTAL_TAP_UPLOAD_TRUSTED_NETWORKS"))
        except ValueError as exc:
            raise ValueError(f"PORTAL_TAP_UPLOAD_TRUSTED_NETWORKS: {exc}") from None
        return cls(
            sync_seconds=_number(env, "PORTAL_TAP_SYNC_TIMEOUT", cls.sync_seconds),
            max_output_bytes=int(_number(env, "PORTAL_TAP_MAX_OUTPUT_BYTES", cls.max_output_bytes)),
            upload_hosts=_list(env, "PORTAL_TAP_UPLOAD_HOSTS"),
            trusted_networks=networks,
            upload_deadline=_number(env, "PORTAL_TAP_UPLOAD_DEADLINE", cls.upload_deadline),
            anonymous_jobs=int(_number(env, "PORTAL_TAP_ANON_MAX_JOBS", cls.anonymous_jobs)),
            anonymous_bytes=int(_number(env, "PORTAL_TAP_ANON_MAX_BYTES", cls.anonymous_bytes)),
            sync_per_caller=int(_number(env, "PORTAL_TAP_SYNC_PER_CALLER", cls.sync_per_caller)),
            sync_caller_wait=_number(env, "PORTAL_TAP_SYNC_CALLER_WAIT", cls.sync_caller_wait),
            anonymous_join_rows=int(_number(env, "PORTAL_TAP_ANON_MAX_JOIN_ROWS", cls.anonymous_join_rows)),
        )

    def host_allowed_anonymously(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.upload_hosts:
            if pattern == "*" or pattern == host:
                return True
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
        return False

    def summary(self, quotas=None) -> str:
        """The limits in one paragraph, for the capabilities document (with the per-user quotas of
        token holders' async jobs, a :class:`portal.config.JobLimits`, when given)."""
        anonymous = ("off for anonymous callers" if not self.upload_hosts
                     else "for anonymous callers from " + ", ".join(self.upload_hosts))
        return (f"Limits: a sync query may take {self.sync_seconds:g} s in all (reading uploads, parsing, SQL "
                f"and writing); a result is cut at MAXREC rows or {self.max_output_bytes:,} bytes, whichever "
                f"comes first (QUERY_STATUS=OVERFLOW). Uploads: {self.max_upload_bytes:,} bytes per table, "
                f"{self.max_request_bytes:,} bytes per request; by URL at most {self.max_url_uploads} per "
                f"request, {self.upload_deadline:g} s each, public hosts only, {anonymous}. Anonymous async "
                f"jobs: at most {self.anonymous_jobs} and {self.anonymous_bytes:,} bytes in total. Fair share: "
                f"one caller (a token's user, else an address) runs at most {self.sync_per_caller} sync "
                f"{'query' if self.sync_per_caller == 1 else 'queries'} at once, never all the query threads "
                f"(beyond that, a wait of up to {self.sync_caller_wait:g} s, then 429 with Retry-After); an "
                f"anonymous sync query whose plan joins tables with no usable constraint over more than "
                f"{self.anonymous_join_rows:,} row combinations is refused with a sentence (async jobs and "
                "token holders are not)."
                + ("" if quotas is None else " " + quota_sentence(quotas, "async jobs")))
