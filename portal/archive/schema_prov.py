"""The ProvTAP tables (schema ``provenance``) as plain data; :mod:`portal.archive.schema` makes them tables.

They follow the IVOA ProvTAP working draft, which maps the classes of the Provenance Data Model (ProvDM
1.0) to one table each, with ProvDM's attribute names in snake case (``time`` and ``value``, reserved words of
ADQL, are ``used_time``/``generated_time`` and ``param_value``) and one row per relation
(``used``, ``wasgeneratedby``, ``wasassociatedwith``, ``wasderivedfrom``). The draft's column list could
not be consulted offline: where it is silent, the columns are ProvDM's attributes. The portal adds what
joins ObsCore: an entity that stands for an observation file carries the observation's ``obs_id``,
``obs_collection`` and ``obs_publisher_did`` (and its SHA-256), and an entity that is a published product
carries the product's ``obs_publisher_did``.

Each table is ``(name, description, columns)``; each column ``(name, datatype, description, unit, ucd,
indexed, xtype)``. Every row belongs to one publication (a hidden ``_pub`` column): an observation file
that several published jobs used appears once per publication.
"""

from __future__ import annotations

ID = "meta.id;meta.main"
REF = "meta.id"

PROVENANCE_DESCRIPTION = ("IVOA ProvTAP (working draft): the ProvDM records of the products the portal's "
                          "jobs made and their owners published")

PROVENANCE = (
    ("activity", "ProvDM activities: the jobs that made published products", (
        ("id", "char", "Identifier of the activity (portal:job_<job id>)", None, ID, True, None),
        ("name", "char", "Name of the activity: the job definition it ran (spectrum, lightcurve, ...)",
         None, "meta.title", True, None),
        ("start_time", "char", "When the job started (ISO 8601, UTC)", None, "time.start", False, "timestamp"),
        ("end_time", "char", "When the job ended (ISO 8601, UTC)", None, "time.end", False, "timestamp"),
        ("comment", "char", "Label of the activity", None, "meta.note", False, None),
        ("activitydescription_id", "char", "The activity description (activitydescription.id) it follows",
         None, "meta.id;meta.ref", False, None),
        ("job_id", "char", "The UWS job identifier", None, REF, True, None),
        ("phase", "char", "The job's final UWS phase", None, "meta.code.status", False, None),
    )),
    ("activitydescription", "ProvDM activity descriptions: the kinds of job (job definitions)", (
        ("id", "char", "Identifier of the description (portal:definition_<name>)", None, ID, True, None),
        ("name", "char", "Name of the job definition", None, "meta.title", True, None),
        ("description", "char", "What a job of this kind does", None, "meta.note", False, None),
        ("code", "char", "The Python callable that runs it (module:function)", None, "meta.code", False, None),
    )),
    ("entity", "ProvDM entities: the files a job used (observation files, catalogs, other jobs' results) "
               "and the results it generated", (
        ("id", "char", "Identifier of the entity (portal:file_<SHA-256 prefix>, portal:job_<id>_result_<name>)",
         None, ID, True, None),
        ("name", "char", "Name of the entity (a result id, or the file name)", None, "meta.title", False, None),
        ("location", "char", "Where the file was when the job read or wrote it", None, "meta.ref.url", False,
         None),
        ("content_type", "char", "MIME type of a generated file", None, "meta.code.mime", False, None),
        ("content_size", "long", "Size of a generated file", "byte", "phys.size;meta.file", False, None),
        ("sha256", "char", "SHA-256 checksum of the file (hex)", None, "meta.checksum", True, None),
        ("generated_at_time", "char", "When the entity was generated (ISO 8601, UTC)", None, "time.creation",
         False, "timestamp"),
        ("comment", "char", "Label of the entity", None, "meta.note", False, None),
        ("role", "char", "Role of an input file (events, irf, catalog, datasets, left-out, ...)", None,
         "meta.code", False, None),
        ("obs_id", "char", "obs_id of the observation the file belongs to (joins ivoa.obscore)", None,
         "meta.id;obs", True, None),
        ("obs_collection", "char", "obs_collection of that observation", None, "meta.id", False, None),
        ("obs_publisher_did", "char", "obs_publisher_did in ivoa.obscore: the observation of an observation "
         "file, or the published product this entity is", None, "meta.ref.ivoid", True, None),
    )),
    ("used", "ProvDM Used relations: an activity used an entity", (
        ("activity_id", "char", "The activity (activity.id)", None, "meta.id;meta.ref", True, None),
        ("entity_id", "char", "The entity used (entity.id)", None, "meta.id;meta.ref", True, None),
        ("role", "char", "Role of the entity in the activity", None, "meta.code", False, None),
        ("used_time", "char", "When it was used (ISO 8601, UTC), when known", None, "time.epoch", False, "timestamp"),
    )),
    ("wasgeneratedby", "ProvDM WasGeneratedBy relations: an entity was generated by an activity", (
        ("entity_id", "char", "The entity generated (entity.id)", None, "meta.id;meta.ref", True, None),
        ("activity_id", "char", "The activity (activity.id)", None, "meta.id;meta.ref", True, None),
        ("role", "char", "Role of the entity: the result id", None, "meta.code", False, None),
        ("generated_time", "char", "When it was generated (ISO 8601, UTC)", None, "time.epoch", False, "timestamp"),
    )),
    ("wasderivedfrom", "ProvDM WasDerivedFrom relations: an entity was derived from another (a joint fit "
                       "from its instrument jobs' datasets, a result from a cached reduction)", (
        ("generated_entity_id", "char", "The derived entity (entity.id)", None, "meta.id;meta.ref", True, None),
        ("used_entity_id", "char", "The entity it was derived from (entity.id)", None, "meta.id;meta.ref", True,
         None),
        ("activity_id", "char", "The activity of the derivation (activity.id)", None, "meta.id;meta.ref", False,
         None),
    )),
    ("agent", "ProvDM agents: the owners of the jobs and the job service software", (
        ("id", "char", "Identifier of the agent", None, ID, True, None),
        ("name", "char", "Name of the agent (user name, or the software)", None, "meta.title", False, None),
        ("type", "char", "Type of agent (prov:Person, prov:SoftwareAgent)", None, "meta.code.class", False, None),
        ("comment", "char", "More about the agent (software versions)", None, "meta.note", False, None),
    )),
    ("wasassociatedwith", "ProvDM WasAssociatedWith relations: an agent had a role in an activity", (
        ("activity_id", "char", "The activity (activity.id)", None, "meta.id;meta.ref", True, None),
        ("agent_id", "char", "The agent (agent.id)", None, "meta.id;meta.ref", True, None),
        ("role", "char", "Role of the agent (owner, executor)", None, "meta.code", False, None),
    )),
    ("parameter", "ProvDM parameters: every parameter value a job ran with, defaults included", (
        ("id", "char", "Identifier of the parameter", None, ID, False, None),
        ("activity_id", "char", "The activity it configured (activity.id)", None, "meta.id;meta.ref", True, None),
        ("name", "char", "Name of the parameter", None, "meta.id", True, None),
        ("param_value", "char", "Value, as the job was given it", None, "meta.code", False, None),
        ("unit", "char", "Unit of the value", None, "meta.unit", False, None),
    )),
)
