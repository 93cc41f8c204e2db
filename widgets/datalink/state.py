"""DataLinkState: the DataLink rows of the observations shown (the session's selection, or what ``show`` asked
for), a sentence on how that went, and the previews the user opened.

Plain traitlets, tested without a browser; :class:`~widgets.datalink.view.DataLinkPanel` is its thin view. The
documents are fetched in a worker thread (:class:`~widgets.background.Background`) and every trait changes on
the kernel's loop. Only the latest request counts: an answer to an earlier selection is dropped.

Traits: ``groups`` ([ObsLinks], one per observation), ``rows`` (every LinkRow of them, derived), ``message``,
``status`` (idle, loading, ok, error), ``loading``, ``total`` (observations asked for; at most ``limit`` are
shown), ``previews`` (access_url -> Preview), ``shown_previews`` (the access_urls whose preview is open),
``active`` (False: a followed selection is remembered and fetched once it turns True).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import traitlets as t
from astropy.table import Row, Table

from widgets.background import Background
from widgets.client import PortalClient, ServiceError, default_client
from widgets.datalink.fetch import LookupProblem, Target, fetch_links, fetch_preview, targets_from_table
from widgets.datalink.links import ObsLinks
from widgets.session import SessionState

__all__ = ["DataLinkState", "Preview", "LIMIT"]

LIMIT = 5  # observations shown at once: the first ones of a bigger selection
NOTHING = "Select observations in the results (table or sky) to see their files."


@dataclass(frozen=True)
class Preview:
    status: str  # loading, ok, error
    data: bytes = b""
    format: str = "png"
    message: str = ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class DataLinkState(SessionState):
    observes = ("selected",)
    publishes: tuple[str, ...] = ()

    groups = t.List()
    rows = t.List(read_only=True)
    message = t.Unicode(NOTHING)
    status = t.Enum(["idle", "loading", "ok", "error"], "idle")
    loading = t.Bool(False)
    total = t.Int(0)
    limit = t.Int(LIMIT)
    previews = t.Dict()
    shown_previews = t.List()
    active = t.Bool(True)

    def __init__(self, client: PortalClient | None = None, background: Background | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background or Background.shared()
        self._asked = 0  # numbers each request: only the latest one's answer is applied
        self._wanted = None  # the followed selection not yet fetched (while inactive)
        self._pending = False
        self.watch(self._selected, "selected")

    # -- what to show ---------------------------------------------------------------------------------------
    def show(self, *what) -> None:
        """Show the DataLink of observations: ObsCore rows (a Table or Row), obs_ids, ``collection/obs_id``,
        obs_publisher_dids (``ivo://...``) or DataLink URLs (an ``access_url``); several at once, or a list."""
        items = []
        for item in what:
            items.extend(item if isinstance(item, list | tuple) else [item])
        if not items:
            self.clear()
            return
        try:
            found = []
            for item in items:
                if isinstance(item, Row):
                    item = item.table[item.index:item.index + 1]
                found.extend(targets_from_table(item, self.client) if isinstance(item, Table) else [item])
        except LookupProblem as exc:
            self._asked += 1
            self._fail(str(exc))
            return
        self._ask(found)

    def clear(self, message: str = NOTHING) -> None:
        self._asked += 1
        with self.hold_trait_notifications():
            self._set_groups([], 0)
            self.loading = False
            self.status, self.message = "idle", message

    def follow(self, session):
        """Show the session's selected rows, now and whenever they change (join it); returns a link with
        ``unlink()``."""
        return self.join(session)

    def _selected(self, _change=None) -> None:
        self._wanted, self._pending = self.session.selected, True
        if self.active:
            self._show_wanted()

    @t.observe("active")
    def _activated(self, change) -> None:
        if change["new"] and self._pending:
            self._show_wanted()

    def _show_wanted(self) -> None:
        table, self._wanted, self._pending = self._wanted, None, False
        if table is None or len(table) == 0:
            self.clear()
        else:
            self.show(table)

    # -- fetching -------------------------------------------------------------------------------------------
    def _ask(self, items: list) -> None:
        self._asked += 1
        asked = self._asked
        self.loading, self.status = True, "loading"
        self.message = f"Asking for the files of {_plural(len(items), 'observation')}…" if all(
            isinstance(i, Target) for i in items) else "Looking up the observation…"
        self.background.run(self._work, items, self.limit,
                            on_done=lambda found: asked == self._asked and self._arrived(*found),
                            on_error=lambda exc: asked == self._asked and self._fail(self._sentence(exc)))

    def _work(self, items: list, limit: int) -> tuple[list[ObsLinks], int]:
        """In a worker thread: resolve what needs the archive, then fetch each document (no trait is touched)."""
        from widgets.datalink.fetch import resolve

        targets = []
        for item in items:
            targets.extend([item] if isinstance(item, Target) else resolve(item, self.client))
        groups, down = [], {}
        for target in targets[:limit]:
            host = urlsplit(target.url).netloc
            if host in down:  # a service that cannot be reached is not asked again for each observation
                groups.append(ObsLinks(target.label, target.url, problem=down[host]))
                continue
            group = fetch_links(self.client, target)
            if not group.reachable:
                down[host] = group.problem
            groups.append(group)
        return groups, len(targets)

    @staticmethod
    def _sentence(exc: BaseException) -> str:
        if isinstance(exc, LookupProblem | ServiceError):
            return str(exc)
        return f"The files could not be listed ({type(exc).__name__}: {exc})."

    def _arrived(self, groups: list[ObsLinks], total: int) -> None:
        problems = {g.problem for g in groups}
        with self.hold_trait_notifications():
            self.loading = False
            if groups and all(g.problem for g in groups) and len(problems) == 1:
                self._set_groups([], total)
                self.status, self.message = "error", problems.pop()
                return
            self._set_groups(groups, total)
            self.status, self.message = "ok", self._summary(groups, total)

    def _summary(self, groups: list[ObsLinks], total: int) -> str:
        counts = {}
        for group in groups:
            for row in group.rows:
                counts[row.category] = counts.get(row.category, 0) + 1
        words = [_plural(counts[c], w) for c, w in (("file", "file"), ("preview", "preview"), ("link", "other link"),
                                                   ("service", "service"), ("error", "error")) if counts.get(c)]
        failed = sum(1 for g in groups if g.problem)
        if failed:
            words.append(f"{failed} not listed")
        text = f"{_plural(len(groups), 'observation')}: {', '.join(words) or 'no links'}."
        if total > len(groups):
            text += (f" Showing the first {len(groups)} of {total} selected observations: select fewer to see the "
                     "others.")
        return text

    def _fail(self, message: str) -> None:
        with self.hold_trait_notifications():
            self._set_groups([], 0)
            self.loading = False
            self.status, self.message = "error", message

    def _set_groups(self, groups: list[ObsLinks], total: int) -> None:
        urls = {r.access_url for g in groups for r in g.rows if r.access_url}
        self.previews = {u: p for u, p in self.previews.items() if u in urls}
        self.shown_previews = [u for u in self.shown_previews if u in urls]
        self.total = total
        self.groups = groups
        self.set_trait("rows", [r for g in groups for r in g.rows])

    # -- previews -------------------------------------------------------------------------------------------
    def preview(self, url: str) -> None:
        """Open the preview image at ``url`` (a previewable row's access_url), fetching it once."""
        if url not in self.shown_previews:
            self.shown_previews = [*self.shown_previews, url]
        known = self.previews.get(url)
        if known is not None and known.status in ("loading", "ok"):
            return
        self.previews = {**self.previews, url: Preview("loading", message="Drawing the preview…")}

        def done(found) -> None:
            if url in self.previews:
                self.previews = {**self.previews, url: Preview("ok", found[0], found[1])}

        def failed(exc) -> None:
            if url in self.previews:
                text = exc.message if isinstance(exc, ServiceError) else f"The preview failed ({exc})."
                self.previews = {**self.previews, url: Preview("error", message=text)}
        self.background.run(fetch_preview, self.client, url, on_done=done, on_error=failed)

    def hide_preview(self, url: str) -> None:
        self.shown_previews = [u for u in self.shown_previews if u != url]

    # -- without a kernel -----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.loading or any(p.status == "loading" for p in self.previews.values())

    def wait(self, timeout: float = 60.0) -> bool:
        """Outside a kernel (a script, a test): apply the background work until nothing is pending."""
        return self.background.wait_until(lambda: not self.busy, timeout)
