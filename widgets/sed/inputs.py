"""The input jobs of a joint fit: which ``spectrum`` jobs a ``joint_spectrum`` job combined, and their flux points.

A ``joint_spectrum`` job publishes ``inputs``, ``{"jobs": [{"job_id", "datasets", "obs_ids", "sha256"}]}``.
Each input is a ``spectrum`` job of the same service (the joint job's sibling job list), whose own
``flux_points`` result the SED shows as a layer of its own beside the joint points, read with the
joint job's client (its token owns them all). Each layer is labelled by its job and observations:
``job 3f2a1b9c… (obs 23523, 23526)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from widgets.client import ServiceError
from widgets.sed.loading import SEDInputError

INPUT_KIND = "spectrum"  # the kind of job a joint fit combines
SHOWN_ID = 8  # characters of a job id in a label


@dataclass(frozen=True)
class InputJob:
    job_id: str
    url: str
    label: str

    @property
    def key(self) -> str:
        return f"input/{self.job_id}"


def label(job_id: str, obs_ids=None) -> str:
    """``job 3f2a1b9c… (obs 23523, 23526)``: the job and the observations it analysed."""
    if isinstance(obs_ids, str):
        obs = [item.strip() for item in obs_ids.replace(";", ",").split(",") if item.strip()]
    elif isinstance(obs_ids, (list, tuple)):
        obs = [str(item) for item in obs_ids]
    else:
        obs = []
    short = job_id if len(job_id) <= SHOWN_ID else job_id[:SHOWN_ID] + "…"
    return f"job {short}" + (f" (obs {', '.join(obs)})" if obs else "")


def input_jobs(content: bytes, joint_url: str) -> list[InputJob]:
    """The input jobs listed by a joint job's ``inputs`` result; SEDInputError when it is not such a list."""
    try:
        entries = json.loads(content)["jobs"]
        if not isinstance(entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise SEDInputError("The joint job's inputs are not a list of jobs ({\"jobs\": [...]}).") from None
    base = joint_url.rstrip("/").rsplit("/", 2)[0]  # the service's UWS root: <root>/<kind>/<id>
    jobs = []
    for entry in entries:
        job_id = str(entry.get("job_id") or "").strip() if isinstance(entry, dict) else ""
        if job_id and "/" not in job_id:
            jobs.append(InputJob(job_id, f"{base}/{INPUT_KIND}/{job_id}", label(job_id, entry.get("obs_ids"))))
    return jobs


def read_input_points(client, job: InputJob) -> bytes:
    """The input job's ``flux_points`` file (any thread); SEDInputError with a sentence when there is none."""
    try:
        info = client.uws.job(job.url)
        if "flux_points" not in info.results:
            raise SEDInputError(f"it has no flux points (it is {info.phase.lower()})")
        return client.uws.result(info.results["flux_points"])
    except ServiceError as exc:
        raise SEDInputError(exc.message.rstrip(".")) from None
