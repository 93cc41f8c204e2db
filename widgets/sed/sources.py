"""A catalog source input for an SED plot: a catalog, a source name (the target's counterparts offered), "Add".

The names offered are the counterparts of the plot's target in the chosen catalog (``state.counterparts``);
any other name of the catalog may be typed. "Add" draws the source (``SEDPlot.add_catalog``, in the
background); an unknown name becomes the plot's message, as every failure does.
"""

from __future__ import annotations

import ipywidgets as w

from widgets.sed.catalogs import TITLES


class CatalogSourceInput(w.HBox):
    """``catalog`` (a tag of :data:`~widgets.sed.catalogs.TITLES`), ``name``, and :meth:`add`."""

    def __init__(self, sed, **kwargs) -> None:
        self.sed = sed
        self.catalog = w.Dropdown(options=[(title, tag) for tag, title in TITLES.items()], value="3fhl",
                                  description="Catalog source", style={"description_width": "initial"},
                                  layout=w.Layout(width="15em"))
        self.catalog.add_class("portal-sed-catalog")
        self.name = w.Combobox(placeholder="source name, e.g. 3FHL J0534.5+2201", ensure_option=False,
                               layout=w.Layout(flex="1 1 14em", min_width="10em", width="auto"))
        self.name.add_class("portal-sed-source-name")
        self.button = w.Button(description="Add", icon="plus", layout=w.Layout(width="auto"))
        self.button.add_class("portal-sed-add-source")
        self.button.on_click(lambda _b: self.add())
        self.catalog.observe(lambda _change: self._offer(), "value")
        sed.state.observe(lambda _change: self._offer(), "counterparts")
        super().__init__([self.catalog, self.name, self.button], **kwargs)
        self.layout.flex_flow = "row wrap"
        self.layout.align_items = "center"
        self.add_class("portal-sed-source-input")
        self._offer()

    def options(self) -> list[str]:
        """The target's counterparts in the chosen catalog, nearest first."""
        tag = self.catalog.value
        return [str(c["name"]) for c in self.sed.state.counterparts if str(c.get("tag", "")).lower() == tag]

    def add(self):
        """Draw the named source of the chosen catalog (in the background); False when no name is given."""
        name = self.name.value.strip()
        if not name:
            self.sed.state.fail(f"Type the name of a {TITLES[self.catalog.value]} source to add it.")
            return False
        self.sed.state.say(f"Reading {name} from the {TITLES[self.catalog.value]} catalog...", "working")
        return self.sed.add_catalog(self.catalog.value, name, wait=False)

    def _offer(self) -> None:
        names = self.options()
        self.name.options = tuple(names)
        if names and not self.name.value:
            self.name.placeholder = f"source name, e.g. {names[0]}"
