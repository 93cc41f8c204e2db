"""DataLinkPanel: the files of the selected observations (DataLink), a thin view of
:class:`~widgets.datalink.state.DataLinkState`.

Python API::

    panel = DataLinkPanel(client=client)   # alone in a notebook (default: the kernel's shared client)
    panel.show(23523)                     # an obs_id, "collection/obs_id", an obs_publisher_did, an access_url,
                                          # ObsCore rows (an astropy Table or Row), or several of them
    panel.follow(session)                 # the session's selected rows, as they change (the Portal does this)
    panel.rows, panel.groups, panel.message
    panel.preview(url)                    # open a preview image (the "Preview" button does it)

Per observation: the files (kind, size, description, a download link on the file's access_url), the previews
(each opened by its button, never all at once), the other links (progenitors, provenance, services...) and each
error row as its sentence. Every value from a service is escaped; only http(s) URLs become links.
"""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.datalink.links import LinkRow, ObsLinks
from widgets.datalink.state import LIMIT, DataLinkState

__all__ = ["DataLinkPanel"]

COLORS = {"idle": "#555", "loading": "#555", "ok": "#2e7d32", "error": "#c62828"}
STYLE = """
<style>
.portal-datalink > *, .portal-datalink .portal-datalink-body > *, .portal-datalink .portal-datalink-group > * {
  flex: 0 0 auto; }
.portal-datalink .portal-datalink-group > .widget-html, .portal-datalink .portal-datalink-group > .widget-html
  > .widget-html-content { width: 100%; }
.portal-datalink table { border-collapse: collapse; width: 100%; font-size: 12px; line-height: 1.35; }
.portal-datalink th { text-align: left; font-weight: 600; color: #555; border-bottom: 1px solid #ccc;
  padding: 2px 6px; }
.portal-datalink td { border-bottom: 1px solid #eee; padding: 2px 6px; vertical-align: top; overflow-wrap: anywhere; }
.portal-datalink td.portal-datalink-size { white-space: nowrap; text-align: right; }
.portal-datalink td.portal-datalink-kind, .portal-datalink td.portal-datalink-get { white-space: nowrap; }
.portal-datalink .portal-datalink-error { color: #c62828; font-size: 12px; margin: 2px 0; }
.portal-datalink .portal-datalink-obs { margin: 8px 0 2px 0; font-size: 13px; }
.portal-datalink .portal-datalink-note { color: #555; font-size: 12px; }
.portal-datalink img.portal-datalink-preview { max-width: 100%; max-height: 400px; width: auto; height: auto;
  object-fit: contain; }
</style>
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _href(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL (a service's javascript: or data: URL never becomes a link)."""
    return url if url and url.lower().startswith(("http://", "https://")) else None


def anchor(url: str | None, text: str, download: bool = False, css: str = "") -> str:
    href = _href(url)
    if href is None:
        return _e(url or "")
    extra = " download" if download else ""
    return (f"<a href=\"{_e(href)}\"{extra} target=\"_blank\" rel=\"noopener noreferrer\" class=\"{_e(css)}\" "
            f"title=\"{_e(href)}\">{_e(text)}</a>")


def files_table(rows: list[LinkRow]) -> str:
    """The files of an observation: kind, size, what it is, a download link."""
    lines = ["<table class='portal-datalink-files'><tr><th>Kind</th><th>Size</th><th>Description</th><th></th></tr>"]
    for row in rows:
        exact = f"{row.content_length:,} bytes" if row.content_length is not None else "size not given"
        lines.append(
            f"<tr><td class='portal-datalink-kind'>{_e(row.kind)}</td>"
            f"<td class='portal-datalink-size' title='{_e(exact)}'>{_e(row.size)}</td>"
            f"<td>{_e(row.description)}</td>"
            f"<td class='portal-datalink-get'>"
            f"{anchor(row.access_url, 'Download', download=True, css='portal-datalink-download')}</td></tr>")
    lines.append("</table>")
    return "".join(lines)


def _service_text(row: LinkRow) -> str:
    service = row.service
    parts = [_e(row.description or (service.description if service else ""))]
    if service is not None:
        if service.access_url:
            parts.append(f"at {anchor(service.access_url, service.access_url, css='portal-datalink-service')}")
        if service.params:
            shown = ", ".join(f"{_e(k)}={_e(v)}" for k, v in service.params[:6])
            more = f", and {len(service.params) - 6} more" if len(service.params) > 6 else ""
            parts.append(f"<span class='portal-datalink-note'>({shown}{more})</span>")
    if (row.link_auth or "").lower() == "true":
        parts.append("<span class='portal-datalink-note'>needs your token</span>")
    return " ".join(p for p in parts if p)


def others_table(rows: list[LinkRow]) -> str:
    """The other links (progenitors, provenance, documentation...) and the services."""
    lines = ["<table class='portal-datalink-others'><tr><th>Kind</th><th>Description</th><th></th></tr>"]
    for row in rows:
        if row.category == "service":
            lines.append(f"<tr><td class='portal-datalink-kind'>{_e(row.kind)}</td><td>{_service_text(row)}</td>"
                         "<td></td></tr>")
        else:
            lines.append(f"<tr><td class='portal-datalink-kind'>{_e(row.kind)}</td><td>{_e(row.description)}</td>"
                         f"<td class='portal-datalink-get'>{anchor(row.access_url, 'Open', css='portal-datalink-link')}"
                         "</td></tr>")
    lines.append("</table>")
    return "".join(lines)


def errors_html(rows: list[LinkRow]) -> str:
    """Each error row as its sentence (prefixed by what it is about, when it is about one file)."""
    out = []
    for row in rows:
        about = f"{row.kind}: " if row.local_semantics else ""
        out.append(f"<div class='portal-datalink-error'>{_e(about + row.message)}</div>")
    return "".join(out)


def _close(widget: w.Widget) -> None:
    """Close a widget and everything in it (their comms go with them)."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


class _PreviewRow(w.VBox):
    """A button that opens (and hides) one preview image, its status, and the image once fetched."""

    def __init__(self, panel: "DataLinkPanel", row: LinkRow) -> None:
        self.url = row.access_url
        self.panel = panel
        self.button = w.Button(description="Preview", icon="image", layout=w.Layout(width="auto"),
                               tooltip=f"Show the {row.kind} here")
        self.button.add_class("portal-datalink-preview-button")
        self.button.on_click(self._toggle)
        size = f", {row.size}" if row.size else ""
        self.label = w.HTML(f"<span class='portal-datalink-note'>{_e(row.description or row.kind)}{_e(size)} "
                            f"{anchor(row.access_url, 'Open', css='portal-datalink-link')}</span>")
        self.status = w.HTML()
        self.image = w.Box(layout=w.Layout(width="100%"))
        self.image.add_class("portal-datalink-image")
        bar = w.HBox([self.button, self.label, self.status], layout=w.Layout(align_items="center", grid_gap="6px"))
        super().__init__([bar, self.image])

    def _toggle(self, _button) -> None:
        if self.url in self.panel.state.shown_previews:
            self.panel.state.hide_preview(self.url)
        else:
            self.panel.state.preview(self.url)

    def refresh(self) -> None:
        state = self.panel.state
        shown = self.url in state.shown_previews
        preview = state.previews.get(self.url)
        self.button.description = "Hide preview" if shown else "Preview"
        if not shown or preview is None:
            self.status.value, self.image.children = "", []
        elif preview.status == "loading":
            self.status.value = f"<span class='portal-datalink-note'>{_e(preview.message)}</span>"
            self.image.children = []
        elif preview.status == "error":
            self.status.value = (f"<span class='portal-datalink-error portal-datalink-preview-error'>"
                                 f"{_e(preview.message)}</span>")
            self.image.children = []
        else:
            self.status.value = ""
            if not self.image.children:
                image = w.Image(value=preview.data, format=preview.format, layout=w.Layout(max_width="100%"))
                image.add_class("portal-datalink-preview")
                self.image.children = [image]


class DataLinkPanel(w.VBox):
    """The DataLink of the selected (or asked for) observations; see the module docstring."""

    #: what it does with the session (see :mod:`widgets.session`): shows the selected rows' links
    observes, publishes = DataLinkState.observes, DataLinkState.publishes

    def __init__(self, state: DataLinkState | None = None, client=None, background=None, limit: int = LIMIT,
                 **kwargs) -> None:
        self.state = state or DataLinkState(client=client, background=background, limit=limit)
        self._message = w.HTML(layout=w.Layout(min_height="1.4em"))
        self._message.add_class("portal-datalink-message")
        self._body = w.VBox(layout=w.Layout(width="100%"))
        self._body.add_class("portal-datalink-body")
        self._previews: list[_PreviewRow] = []
        super().__init__([self._message, self._body], **kwargs)
        self.add_class("portal-datalink")
        self.state.observe(self._show_message, ["message", "status"])
        self.state.observe(self._show_groups, "groups")
        self.state.observe(self._show_previews, ["previews", "shown_previews"])
        self._show_message()
        self._show_groups()

    # -- the Python API -------------------------------------------------------------------------------------
    def show(self, *what) -> None:
        """Show the files of observations: obs_ids, obs_publisher_dids, access_urls or ObsCore rows."""
        self.state.show(*what)

    def clear(self) -> None:
        self.state.clear()

    def attach(self, session) -> list:
        """Show ``session``'s selected rows, now and whenever they change."""
        return [self.follow(session)]

    def follow(self, session):
        """Follow a :class:`~widgets.session.Session`'s selected rows; returns a link with ``unlink()``."""
        return self.state.follow(session)

    def preview(self, url: str) -> None:
        self.state.preview(url)

    def wait(self, timeout: float = 60.0) -> bool:
        """Outside a kernel: until the links (and the previews asked for) have arrived."""
        return self.state.wait(timeout)

    def _settled(self) -> None:
        if self.state.busy:  # in a script, answer what a notebook's next cell would show (no-op in a kernel)
            self.state.background.settle()

    @property
    def rows(self) -> list[LinkRow]:
        self._settled()
        return list(self.state.rows)

    @property
    def groups(self) -> list[ObsLinks]:
        self._settled()
        return list(self.state.groups)

    @property
    def message(self) -> str:
        self._settled()
        return self.state.message

    # -- drawing --------------------------------------------------------------------------------------------
    def _show_message(self, _change=None) -> None:
        color = COLORS.get(self.state.status, "#555")
        self._message.value = f"{STYLE}<span style='color:{color}'>{_e(self.state.message)}</span>"

    def _show_groups(self, _change=None) -> None:
        old = self._body.children
        self._previews = []
        self._body.children = [self._group(g) for g in self.state.groups]
        for child in old:
            _close(child)
        self._show_previews()

    def _group(self, group: ObsLinks) -> w.VBox:
        head = (f"<div class='portal-datalink-obs'><b>{_e(group.label)}</b> &middot; "
                f"{anchor(group.url, 'DataLink document', css='portal-datalink-document')}</div>")
        parts = [w.HTML(head)]
        if group.problem:
            parts.append(w.HTML(f"<div class='portal-datalink-error'>{_e(group.problem)}</div>"))
        files, others = group.of("file"), group.of("link") + group.of("service")
        if files:
            parts.append(w.HTML(files_table(files)))
        for row in group.of("preview"):
            preview = _PreviewRow(self, row)
            self._previews.append(preview)
            parts.append(preview)
        if others:
            parts.append(w.HTML(others_table(others)))
        if group.of("error"):
            parts.append(w.HTML(errors_html(group.of("error"))))
        if not group.rows and not group.problem:
            parts.append(w.HTML("<div class='portal-datalink-note'>The service lists no links for it.</div>"))
        box = w.VBox(parts, layout=w.Layout(width="100%"))
        box.add_class("portal-datalink-group")
        return box

    def _show_previews(self, _change=None) -> None:
        for preview in self._previews:
            preview.refresh()
