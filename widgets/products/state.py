"""ProductState: the product among the selected rows, its DataLink and provenance, and opening it in a view.

When the rows selected in the results (the session's ``selected``) hold a product (an SED, a light curve or a
sky map the gateway published: :func:`~widgets.products.ref.is_product`), the first one is ``current``; its
DataLink document is read (pyvo, through the widgets' one client, in the background) for its file, its fitted
model and its provenance record, and the record (PROV-JSON) is drawn as the jobs' provenance graph is
(:mod:`widgets.jobs.provenance`). :meth:`ProductState.open_sed` and :meth:`ProductState.show_on_sky` put the
product in the session (its ``product``): the SED view reads its flux points, the sky view overlays its map.
Every failure is a sentence in ``message``; nothing raises at the user.
"""

from __future__ import annotations

import traitlets as t

from widgets.background import Background, UsesBackground
from widgets.client import PortalClient, ServiceError, default_client
from widgets.products.ref import OpenProduct, Product, ProductLinks, product_of
from widgets.session import SessionState

__all__ = ["ProductState", "links_of"]

NOTHING = "Select a product row (an SED, a light curve or a sky map: search with \"Products\") to open it."


def links_of(groups) -> ProductLinks:
    """The rows of a product's DataLink document that the views use (``groups``: an ObsLinks)."""
    found = {"file_url": "", "file_type": "", "model_url": "", "provenance_url": "", "provn_url": ""}
    for row in groups.rows:
        if row.error_message or not row.access_url:
            continue
        local = (row.local_semantics or "").lower()
        if row.semantics == "#this" and not found["file_url"]:
            found["file_url"], found["file_type"] = row.access_url, row.content_type or ""
        elif row.semantics == "#auxiliary" and local == "model":
            found["model_url"] = row.access_url
        elif row.semantics == "#provenance":
            kind = "provn_url" if local == "prov-n" or "provenance-notation" in (row.content_type or "") else \
                "provenance_url"
            found[kind] = found[kind] or row.access_url
    return ProductLinks(**found)


class ProductState(UsesBackground, SessionState):
    observes = ("selected",)
    publishes = ("product",)

    current = t.Instance(Product, allow_none=True)  # the first product among the selected rows
    count = t.Int(0)  # how many of the selected rows are products
    links = t.Instance(ProductLinks, allow_none=True)  # what its DataLink document gives (None while asked)
    status = t.Enum(["idle", "working", "ok", "error"], "idle")
    message = t.Unicode(NOTHING)
    provenance = t.Any(None)  # its provenance graph (widgets.jobs.provenance.Graph)
    provenance_json = t.Bytes(b"")  # the PROV-JSON record, to offer for download
    provenance_note = t.Unicode("")  # why there is no graph (yet)

    def __init__(self, client: PortalClient | None = None, background: Background | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background
        self._asked = 0  # numbers the lookups: only the latest one's answer counts
        self._waiting: str | None = None  # a view asked for before the links came
        self.watch(self._selected, "selected")
        self._selected()

    # -- which product ----------------------------------------------------------------------------
    def _selected(self, _change=None) -> None:
        rows = self.session.selected
        found = [p for p in (product_of(row) for row in rows) if p is not None] if rows is not None else []
        self.count = len(found)
        self.choose(found[0] if found else None)

    def choose(self, product: Product | None) -> None:
        """Show ``product`` (its DataLink and provenance are read in the background)."""
        if product == self.current and (self.links is not None or self.status == "working"):
            return
        self._asked += 1
        self._waiting = None
        with self.hold_trait_notifications():
            self.current, self.links = product, None
            self.provenance, self.provenance_json, self.provenance_note = None, b"", ""
            if product is None:
                self.status, self.message = "idle", NOTHING
                return
            self.status, self.message = "working", f"Reading the links of the {product.kind}..."
        asked = self._asked
        self.bg.run(self._read, product, on_done=lambda found: self._arrived(asked, found),
                    on_error=lambda exc: self._failed(asked, exc))

    def _read(self, product: Product):
        """I/O only (any thread): the product's links, then its provenance graph (or why not)."""
        from widgets.datalink.fetch import Target, fetch_links

        groups = fetch_links(self.client, Target(product.access_url, product.label))
        if groups.problem:
            raise ServiceError(f"The links of this {product.kind} could not be read: {groups.problem}")
        links = links_of(groups)
        errors = [row.message for row in groups.rows if row.error_message]
        if not links.file_url and errors:  # e.g. a product unpublished since the search, or private to another
            raise ServiceError(f"The {product.kind} could not be read from the archive: {errors[0]}")
        graph, record, note = None, b"", "This product's DataLink document gives no provenance record."
        if links.provenance_url:
            try:
                record = self.client.get(links.provenance_url).content
                from widgets.jobs.provenance import parse

                graph, note = parse(record.decode("utf-8", "replace")), ""
            except ServiceError as exc:
                note = f"Its provenance record could not be read: {exc.message}"
            except ValueError as exc:
                note = f"Its provenance record could not be drawn: {exc}"
        return links, graph, record, note

    def _arrived(self, asked: int, found) -> None:
        if asked != self._asked:
            return  # another row was selected meanwhile
        links, graph, record, note = found
        product = self.current
        with self.hold_trait_notifications():
            self.links = links
            self.provenance, self.provenance_json, self.provenance_note = graph, record, note
            if not links.file_url:
                self.status, self.message = "error", f"The {product.kind}'s DataLink document gives no file (#this)."
            else:
                self.status, self.message = "ok", self._ready_text(product)
        if self._waiting and links.file_url:
            view, self._waiting = self._waiting, None
            self._publish(view)

    def _failed(self, asked: int, exc: BaseException) -> None:
        if asked != self._asked:
            return
        self._waiting = None
        text = exc.message if isinstance(exc, ServiceError) else f"The product could not be read: {exc}"
        self.status, self.message = "error", text

    @staticmethod
    def _ready_text(product: Product) -> str:
        if product.dataproduct_type == "sed":
            return f"{product.label}: open its flux points in the SED view, or see its provenance."
        if product.dataproduct_type == "image":
            return f"{product.label}: show it on the sky, or see its provenance."
        return f"{product.label}: see its provenance, or download it from the Files tab."

    # -- opening it -------------------------------------------------------------------------------
    def open_sed(self) -> bool:
        """Show the product's flux points in the SED view (an ``sed`` product)."""
        return self._open("sed", "sed", "it has no flux points to plot")

    def show_on_sky(self) -> bool:
        """Overlay the product's map on the sky (an ``image`` product)."""
        return self._open("sky", "image", "it is not a sky map")

    def _open(self, view: str, kind: str, why: str) -> bool:
        product = self.current
        if product is None:
            self.status, self.message = "error", NOTHING
            return False
        if product.dataproduct_type != kind:
            self.status, self.message = "error", f"The {product.kind} of {product.target or 'this row'}: {why}."
            return False
        if self.links is None:
            if self.status == "error":
                return False  # the message says why its links could not be had
            self._waiting = view  # opened when its links come
            return True
        if not self.links.file_url:
            return False
        self._publish(view)
        return True

    def _publish(self, view: str) -> None:
        self.session.product = OpenProduct(self.current, self.links, view)
        where = "SED view" if view == "sed" else "sky"
        self.status, self.message = "ok", f"{self.current.label}: shown in the {where}."
