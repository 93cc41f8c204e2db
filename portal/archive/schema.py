"""The published tables: ivoa.obscore (ObsCore 1.1 plus high-energy columns), the ProvTAP tables
(:mod:`portal.archive.schema_prov`) and TAP_SCHEMA.

This module is the single source of truth for column metadata: the SQLite DDL, the TAP_SCHEMA
rows, VOSI /tables and the ADQL translator's catalogue are all built from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vo_models.adql.misc import ADQL_SQL_KEYWORDS

from portal.archive.schema_prov import PROVENANCE

OBSCORE_UTYPE = "obscore:"


@dataclass(frozen=True)
class ColumnDef:
    """One published column, with its VOTable/TAP_SCHEMA metadata."""

    name: str
    datatype: str  # VOTable datatype: boolean short int long float double char unicodeChar
    description: str
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    arraysize: str | None = None  # "*" for variable-length strings
    xtype: str | None = None
    principal: bool = False
    indexed: bool = False
    std: bool = False
    sql: str | None = None  # SQL expression, "{t}" standing for the table alias; default: the column

    @property
    def sqlite_type(self) -> str:
        if self.datatype in ("boolean", "short", "int", "long"):
            return "INTEGER"
        if self.datatype in ("float", "double"):
            return "REAL"
        return "TEXT"


@dataclass(frozen=True)
class TableDef:
    """One published table: its ADQL name, SQLite name and columns."""

    schema: str
    name: str  # unqualified
    description: str
    columns: tuple[ColumnDef, ...]
    utype: str | None = None
    table_type: str = "table"
    # spatial indexes (R*Tree on unit vectors), see portal/archive/sphere.py
    point_index: tuple[str, str, str] | None = None  # (ra column, dec column, rtree table)
    region_index: tuple[str, str] | None = None  # (region column, rtree table)
    foreign_keys: tuple["ForeignKey", ...] = field(default_factory=tuple)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def sql_name(self) -> str:
        return f'"{self.qualified}"'

    def column(self, name: str) -> ColumnDef:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class ForeignKey:
    key_id: str
    target_table: str
    columns: tuple[tuple[str, str], ...]  # (from_column, target_column)
    description: str = ""


def _oc(name, datatype, description, unit=None, ucd=None, utype=None, arraysize=None, xtype=None,
        principal=False, indexed=False, std=True, sql=None) -> ColumnDef:
    if datatype == "char" and arraysize is None:
        arraysize = "*"
    return ColumnDef(name, datatype, description, unit, ucd,
                     OBSCORE_UTYPE + utype if utype else None, arraysize, xtype,
                     principal, indexed, std, sql)


OBSCORE_COLUMNS: tuple[ColumnDef, ...] = (
    _oc("dataproduct_type", "char", "Data product type (ObsCore vocabulary): event for DL3 event lists; sed, "
        "timeseries or image for published products (flux points, light curves, sky maps)",
        ucd="meta.code.class", utype="ObsDataset.dataProductType", principal=True),
    _oc("dataproduct_subtype", "char", "Data product subtype: gadf-dl3 for GADF DL3 releases",
        ucd="meta.code.class", utype="ObsDataset.dataProductSubtype"),
    _oc("calib_level", "int", "Calibration level: 2 for DL3 event lists with their IRFs, 4 for published "
        "products of the portal's analyses",
        ucd="meta.code;obs.calib", utype="ObsDataset.calibLevel", principal=True),
    _oc("obs_collection", "char", "Name of the data collection (the release the observation comes from)",
        ucd="meta.id", utype="DataID.Collection", principal=True),
    _oc("obs_id", "char", "Observation identifier within its collection (run number)",
        ucd="meta.id", utype="DataID.observationID", principal=True, indexed=True),
    _oc("obs_publisher_did", "char", "Publisher's IVOA dataset identifier of the observation",
        ucd="meta.ref.ivoid", utype="Curation.PublisherDID", principal=True, indexed=True),
    _oc("publisher_id", "char", "IVOA identifier of the publisher",
        ucd="meta.ref.ivoid", utype="Curation.PublisherID"),
    _oc("obs_title", "char", "Short description of the observation", ucd="meta.title;obs",
        utype="DataID.Title"),
    _oc("access_url", "char", "DataLink service listing the observation's files (events, IRFs, preview)",
        ucd="meta.ref.url", utype="Access.Reference", principal=True,
        sql="(adql_base_url() || {t}.\"access_path\")"),
    _oc("access_format", "char", "MIME type of what access_url returns (a DataLink document)",
        ucd="meta.code.mime", utype="Access.Format", principal=True),
    _oc("access_estsize", "long", "Estimated size of the observation's DL3 files", unit="kbyte",
        ucd="phys.size;meta.file", utype="Access.Size", principal=True),
    _oc("target_name", "char", "Name of the observed target", ucd="meta.id;src", utype="Target.Name",
        principal=True, indexed=True),
    _oc("target_class", "char", "Class of the target (SIMBAD-like), when known", ucd="src.class",
        utype="Target.Class"),
    _oc("s_ra", "double", "Right ascension (ICRS) of the pointing direction", unit="deg",
        ucd="pos.eq.ra", utype="Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
        principal=True, indexed=True),
    _oc("s_dec", "double", "Declination (ICRS) of the pointing direction", unit="deg",
        ucd="pos.eq.dec", utype="Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
        principal=True, indexed=True),
    _oc("s_fov", "double", "Diameter of the field of view. Event lists: twice the largest offset of the events "
        "from the pointing (to 0.01 deg), bounded by the offset range of the IRFs (the smallest upper "
        "end of the effective area's, PSF's, energy dispersion's and RAD_MAX's offset axes)", unit="deg",
        ucd="phys.angSize;instr.fov", utype="Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
        principal=True),
    _oc("s_region", "char", "Field of view as an STC-S region (ICRS, degrees); for event lists the circle of "
        "diameter s_fov around the pointing",
        ucd="pos.outline;obs.field", utype="Char.SpatialAxis.Coverage.Support.Area",
        xtype="adql:REGION", principal=True, indexed=True),
    _oc("s_resolution", "double", "Angular resolution at 1 TeV: the PSF's 68% containment radius (full-enclosure "
        "IRFs), or the directional cut RAD_MAX (point-like IRFs)",
        unit="arcsec", ucd="pos.angResolution", utype="Char.SpatialAxis.Resolution.Refval.value"),
    _oc("s_xel1", "long", "Number of elements along the first spatial axis (-1: event list)",
        ucd="meta.number", utype="Char.SpatialAxis.numBins1"),
    _oc("s_xel2", "long", "Number of elements along the second spatial axis (-1: event list)",
        ucd="meta.number", utype="Char.SpatialAxis.numBins2"),
    _oc("t_min", "double", "Start time of the observation (MJD, TT)", unit="d",
        ucd="time.start;obs.exposure", utype="Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
        principal=True, indexed=True),
    _oc("t_max", "double", "Stop time of the observation (MJD, TT)", unit="d",
        ucd="time.end;obs.exposure", utype="Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
        principal=True, indexed=True),
    _oc("t_exptime", "double", "Exposure time (dead-time corrected live time)", unit="s",
        ucd="time.duration;obs.exposure", utype="Char.TimeAxis.Coverage.Support.Extent", principal=True),
    _oc("t_resolution", "double", "Time resolution (unknown for these event lists)", unit="s",
        ucd="time.resolution", utype="Char.TimeAxis.Resolution.Refval.value"),
    _oc("t_xel", "long", "Number of time elements (-1: event list)", ucd="meta.number",
        utype="Char.TimeAxis.numBins"),
    _oc("em_min", "double", "Shortest wavelength covered (from energy_max)", unit="m",
        ucd="em.wl;stat.min", utype="Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit", principal=True),
    _oc("em_max", "double", "Longest wavelength covered (from energy_min)", unit="m",
        ucd="em.wl;stat.max", utype="Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit", principal=True),
    _oc("em_res_power", "double", "Spectral resolving power E/dE near 1 TeV",
        ucd="spect.resolution", utype="Char.SpectralAxis.Resolution.ResolPower.refVal"),
    _oc("em_xel", "long", "Number of spectral elements (-1: event list)", ucd="meta.number",
        utype="Char.SpectralAxis.numBins"),
    _oc("em_ucd", "char", "UCD of the spectral axis", ucd="meta.ucd", utype="Char.SpectralAxis.ucd"),
    _oc("o_ucd", "char", "UCD of the observable (photon counts)", ucd="meta.ucd",
        utype="Char.ObservableAxis.ucd"),
    _oc("pol_states", "char", "Polarization states (none for these data)", ucd="meta.code;phys.polarization",
        utype="Char.PolarizationAxis.stateList"),
    _oc("pol_xel", "long", "Number of polarization elements", ucd="meta.number",
        utype="Char.PolarizationAxis.numBins"),
    _oc("facility_name", "char", "Facility (telescope array) name", ucd="meta.id;instr.tel",
        utype="Provenance.ObsConfig.Facility.name", principal=True),
    _oc("instrument_name", "char", "Instrument name", ucd="meta.id;instr",
        utype="Provenance.ObsConfig.Instrument.name", principal=True),
    _oc("proposal_id", "char", "Proposal identifier, when known", ucd="meta.id;obs.proposal",
        utype="Provenance.Proposal.identifier"),
    # high-energy columns (see the IVOA High Energy ObsCore extension draft)
    _oc("energy_min", "double", "Lower end of the energy range (safe range when the release gives one)",
        unit="TeV", ucd="em.energy;stat.min", std=False, principal=True, indexed=True),
    _oc("energy_max", "double", "Upper end of the energy range (safe range when the release gives one)",
        unit="TeV", ucd="em.energy;stat.max", std=False, principal=True, indexed=True),
    _oc("zenith", "double", "Mean zenith angle of the pointing", unit="deg", ucd="pos.az.zd",
        std=False, principal=True),
    _oc("target_offset", "double", "Angular offset of the target from the pointing direction (OFFSET_OBJ, else "
        "computed from the object's RA_OBJ/DEC_OBJ in the obs-index or the EVENTS header)",
        unit="deg", ucd="pos.angDistance", std=False, principal=True),
    _oc("livetime", "double", "Live time (dead-time corrected)", unit="s", ucd="time.duration",
        std=False, principal=True),
    _oc("ontime", "double", "On time (not corrected for dead time)", unit="s", ucd="time.duration",
        std=False),
    _oc("ev_xel", "long", "Number of events in the event list", ucd="meta.number", std=False,
        principal=True),
    _oc("n_tels", "int", "Number of telescopes taking part", ucd="meta.number;instr.tel", std=False,
        principal=True),
    _oc("irf_type", "char", "IRF type: full-enclosure, or point-like (with RAD_MAX)", ucd="meta.code",
        std=False, principal=True),
    _oc("obs_mode", "char", "Observation mode as given by the release (e.g. WOBBLE)", ucd="meta.code",
        std=False),
    _oc("tracking_mode", "char", "Tracking mode (sidereal for pointed IACT runs)", ucd="meta.code",
        std=False),
    _oc("messenger", "char", "Messenger particle detected", ucd="meta.code", std=False),
    _oc("target_ra", "double", "Right ascension (ICRS) of the target", unit="deg", ucd="pos.eq.ra",
        std=False),
    _oc("target_dec", "double", "Declination (ICRS) of the target", unit="deg", ucd="pos.eq.dec",
        std=False),
)

# Stored but not published (the translator never exposes them): row id, where the files live.
OBSCORE_HIDDEN_DDL = (
    '"_id" INTEGER PRIMARY KEY',
    '"access_path" TEXT NOT NULL',  # access_url without the server's base URL
    '"release_id" INTEGER',  # archive_release.id; NULL for synthetic rows
    '"obs_number" INTEGER',  # obs_id as an integer, for locate_observations
    '"_pub" INTEGER',  # product_publication.id of a published product; NULL for observations
)

OBSCORE = TableDef(
    schema="ivoa", name="obscore",
    description="ObsCore 1.1 table of the archive's observations (one row per DL3 observation) and of "
                "the products its users published (calib_level 4), with high-energy columns.",
    columns=OBSCORE_COLUMNS, utype="ivo://ivoa.net/std/obscore#table-1.1",
    point_index=("s_ra", "s_dec", "obscore_pos"), region_index=("s_region", "obscore_region"),
)


def _ts(name, datatype, description, principal=True, arraysize=None, std=True) -> ColumnDef:
    if datatype == "char" and arraysize is None:
        arraysize = "*"
    return ColumnDef(name, datatype, description, arraysize=arraysize, principal=principal, std=std)


TAP_SCHEMA_TABLES: tuple[TableDef, ...] = (
    TableDef("TAP_SCHEMA", "schemas", "Schemas published by this service", (
        _ts("schema_name", "char", "Fully qualified schema name"),
        _ts("utype", "char", "Utype of the schema"),
        _ts("description", "char", "Brief description of the schema"),
        _ts("schema_index", "int", "Recommended sort order when listing schemas"),
    )),
    TableDef("TAP_SCHEMA", "tables", "Tables published by this service", (
        _ts("schema_name", "char", "Fully qualified schema name"),
        _ts("table_name", "char", "Fully qualified table name"),
        _ts("table_type", "char", "One of: table, view"),
        _ts("utype", "char", "Utype of the table"),
        _ts("description", "char", "Brief description of the table"),
        _ts("table_index", "int", "Recommended sort order when listing tables"),
    ), foreign_keys=(ForeignKey("tables_schema", "TAP_SCHEMA.schemas", (("schema_name", "schema_name"),),
                                "Schema of the table"),)),
    TableDef("TAP_SCHEMA", "columns", "Columns of the published tables", (
        _ts("table_name", "char", "Fully qualified table name"),
        _ts("column_name", "char", "Column name"),
        _ts("datatype", "char", "VOTable datatype of the column"),
        _ts("arraysize", "char", "VOTable arraysize of the column"),
        _ts("xtype", "char", "VOTable xtype of the column"),
        _ts("size", "int", "Length of variable length datatypes (deprecated, use arraysize)"),
        _ts("description", "char", "Brief description of the column"),
        _ts("utype", "char", "Utype of the column"),
        _ts("unit", "char", "Unit in VO standard format"),
        _ts("ucd", "char", "UCD of the column"),
        _ts("indexed", "int", "1 if the column is indexed, 0 otherwise"),
        _ts("principal", "int", "1 if the column is principal, 0 otherwise"),
        _ts("std", "int", "1 if the column is defined by a standard, 0 otherwise"),
        _ts("column_index", "int", "Recommended sort order when listing columns"),
    ), foreign_keys=(ForeignKey("columns_table", "TAP_SCHEMA.tables", (("table_name", "table_name"),),
                                "Table of the column"),)),
    TableDef("TAP_SCHEMA", "keys", "Foreign keys between the published tables", (
        _ts("key_id", "char", "Unique key identifier"),
        _ts("from_table", "char", "Fully qualified table name"),
        _ts("target_table", "char", "Fully qualified table name"),
        _ts("description", "char", "Description of this key"),
        _ts("utype", "char", "Utype of this key"),
    ), foreign_keys=(ForeignKey("keys_from", "TAP_SCHEMA.tables", (("from_table", "table_name"),),
                                "Table the key starts from"),
                     ForeignKey("keys_target", "TAP_SCHEMA.tables", (("target_table", "table_name"),),
                                "Table the key points to"))),
    TableDef("TAP_SCHEMA", "key_columns", "Columns of the foreign keys", (
        _ts("key_id", "char", "Key identifier from TAP_SCHEMA.keys"),
        _ts("from_column", "char", "Key column name in the from_table"),
        _ts("target_column", "char", "Key column name in the target_table"),
    ), foreign_keys=(ForeignKey("key_columns_key", "TAP_SCHEMA.keys", (("key_id", "key_id"),),
                                "Key the column belongs to"),)),
)


def _provenance_tables() -> tuple[TableDef, ...]:
    """The ProvTAP tables of :mod:`portal.archive.schema_prov` (stored with a hidden ``_pub`` column)."""
    return tuple(TableDef("provenance", name, description, tuple(
        ColumnDef(c, datatype, text, unit, ucd, None, "*" if datatype == "char" else None, xtype,
                  principal=True, indexed=indexed, std=True)
        for c, datatype, text, unit, ucd, indexed, xtype in columns)) for name, description, columns in PROVENANCE)


PROVENANCE_TABLES = _provenance_tables()

SCHEMAS = (
    ("TAP_SCHEMA", "Description of the tables and columns this service publishes (TAP 1.1)", None),
    ("ivoa", "IVOA-defined tables: the ObsCore 1.1 table of observations and of the published products", None),
    ("provenance", "IVOA ProvTAP (working draft): the ProvDM records of the published products (activities, "
                   "entities, agents, parameters and their relations)", None),
)

PUBLISHED_TABLES: tuple[TableDef, ...] = (OBSCORE, *PROVENANCE_TABLES, *TAP_SCHEMA_TABLES)


def column_name(name: str) -> str:
    """How TAP_SCHEMA and /tables spell a column: ADQL reserved words are delimited."""
    return f'"{name}"' if name.upper() in ADQL_SQL_KEYWORDS else name
