"""The UWS 1.1 job service: job definitions, a persistent job store, execution on Dask, provenance.

Layers (as in lsst-sqre/safir's UWS, without its dependencies), each usable on its own:

=============================  ===============================================================
:mod:`~portal.uws.definitions` the contract with the analyses (JobDefinition, JobContext, errors)
:mod:`~portal.uws.models`      domain values: Job, JobRef, JobResult, JobFailure, Outcome
:mod:`~portal.uws.store`       JobStore: SQLite, thread-safe, atomic phase transitions
:mod:`~portal.uws.service`     JobService: UWS rules, owner policy, WAIT, limits, cleaner
:mod:`~portal.uws.quotas`      per-user quotas (429) and bulk abort/delete of a user's jobs
:mod:`~portal.uws.queue`       Dispatcher: the run queue and what runners report
:mod:`~portal.uws.runner`      Runner protocol; RunRequest
:mod:`~portal.uws.dask_runner` DaskRunner: jobs in killable processes on a Dask cluster
:mod:`~portal.uws.thread_runner` ThreadRunner: short in-process jobs (TAP async queries)
:mod:`~portal.uws.render`      UWS XML documents through vo-models
:mod:`~portal.uws.handlers`    job_routes(): FastAPI router of every UWS resource
:mod:`~portal.uws.bulk`        POST ACTION=DELETE / PHASE=ABORT with JOB ids on a job list
:mod:`~portal.uws.vosi`        /uws/capabilities: the quotas and the memory limit, published
:mod:`~portal.uws.catalog`     GET /uws: the definitions as XML or JSON, for forms
:mod:`~portal.uws.definition_files` a job kind as a TOML/YAML file; problems name the file and line
:mod:`~portal.uws.definition_registry` the kinds offered: Python, built-in files, the operators' folder
:mod:`~portal.uws.definitions_api` /uws/definitions: the operators' editor (list, read, validate, save)
:mod:`~portal.uws.application` install() and lifespan(): `/uws` in the portal app
=============================  ===============================================================

A second job list on the same core (TAP async, ``/tap/async``)::

    from portal.auth import optional_user
    from portal.uws.handlers import job_routes
    from portal.uws.service import JobService, ServiceConfig
    from portal.uws.store import JobStore
    from portal.uws.thread_runner import ThreadRunner

    service = JobService(JobStore(data_dir / "tap" / "async.sqlite"),
                         ServiceConfig(jobs_dir=data_dir / "tap" / "jobs", allow_anonymous=True,
                                       max_running=4, max_running_per_owner=4),
                         definitions={"tap": TAP_QUERY_DEFINITION}, runner=ThreadRunner())
    app.state.tap_async = service          # start with `await service.start()` in the lifespan
    app.include_router(job_routes(lambda request: request.app.state.tap_async, optional_user,
                                  fixed_list="tap", name="tap_async"), prefix="/tap/async")
"""
