"""The TAP examples document (DALI 1.1 examples: XHTML with RDFa), built with lxml."""

from __future__ import annotations

from lxml import etree
from lxml.builder import ElementMaker

XHTML = "http://www.w3.org/1999/xhtml"
E = ElementMaker(namespace=XHTML, nsmap={None: XHTML})

CRAB = (83.633, 22.014)

# (id, title, explanation, ADQL)
EXAMPLES = [
    ("crab-fov", "Observations whose field of view covers the Crab",
     "CONTAINS on s_region, the field of view: the spatial index finds the candidates.",
     f"SELECT obs_id, target_name, s_ra, s_dec, t_min, livetime, energy_min\n"
     f"FROM ivoa.obscore\n"
     f"WHERE CONTAINS(POINT('ICRS', {CRAB[0]}, {CRAB[1]}), s_region) = 1\nORDER BY obs_id"),
    ("crab-cone", "Pointings within 2 degrees of the Crab",
     "A cone search on the pointing directions (s_ra, s_dec), with the distance to the Crab.",
     f"SELECT obs_id, s_ra, s_dec,\n       DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', {CRAB[0]}, {CRAB[1]})) AS dist\n"
     f"FROM ivoa.obscore\n"
     f"WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {CRAB[0]}, {CRAB[1]}, 2))\nORDER BY dist"),
    ("high-energy", "Deep, low-zenith observations reaching 1 TeV",
     "Filters on the high-energy columns: energy range in TeV, zenith angle, live time.",
     "SELECT TOP 20 obs_id, target_name, zenith, livetime, energy_min, energy_max\n"
     "FROM ivoa.obscore\nWHERE energy_min <= 1 AND zenith < 40 AND livetime > 1200\nORDER BY livetime DESC"),
    ("targets", "Exposure per target",
     "Aggregates: the number of observations and the total live time of each target, in hours.",
     "SELECT target_name, COUNT(*) AS n_obs, SUM(livetime) / 3600.0 AS hours\n"
     "FROM ivoa.obscore\nGROUP BY target_name\nHAVING COUNT(*) >= 2\nORDER BY hours DESC"),
    ("columns", "Columns of the ObsCore table",
     "TAP_SCHEMA describes every published table and column.",
     "SELECT column_name, datatype, unit, ucd, description\nFROM TAP_SCHEMA.columns\n"
     "WHERE table_name = 'ivoa.obscore'\nORDER BY column_index"),
]


def document(base: str) -> bytes:
    """The examples page; ``base`` is the TAP base URL, for the links."""
    sections = []
    for ident, title, text, query in EXAMPLES:
        sections.append(E.div(
            E.h2(title, property="name"),
            E.p(text),
            E.pre(query, property="query", **{"class": "adql"}),
            E.p("Table: ", E.span("ivoa.obscore" if "obscore" in query else "TAP_SCHEMA.columns",
                                   property="table")),
            id=ident, resource=f"#{ident}", typeof="example",
        ))
    page = E.html(
        E.head(E.title("gamma-portal archive: TAP examples"),
               E.meta(**{"http-equiv": "Content-Type", "content": "application/xhtml+xml; charset=utf-8"})),
        E.body(
            E.h1("Example queries for the gamma-portal archive"),
            E.p("Run them with any TAP client (pyvo, TOPCAT) against ", E.a(base, href=base), "."),
            *sections,
            vocab="http://www.ivoa.net/rdf/examples#",  # DALI 1.1
        ),
    )
    return etree.tostring(page, xml_declaration=True, encoding="utf-8", pretty_print=True,
                          doctype='<!DOCTYPE html>')
