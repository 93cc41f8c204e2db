"""A button that copies a text to the clipboard (an anywidget: a few lines of browser code)."""

from __future__ import annotations

import anywidget
import traitlets as t

_ESM = """
function copyWithSelection(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (_err) { ok = false; }
  document.body.removeChild(area);
  return ok;
}
export default {
  render({ model, el }) {
    const button = document.createElement("button");
    button.className = "jupyter-button widget-button portal-copy-button";
    const label = () => { button.textContent = model.get("description"); };
    label();
    button.addEventListener("click", async () => {
      const text = model.get("text");
      let ok = false;
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch (_err) {
        ok = copyWithSelection(text);
      }
      button.textContent = ok ? "Copied" : "Select the text and copy it";
      model.set("copies", model.get("copies") + 1);
      model.save_changes();
      setTimeout(label, 1500);
    });
    model.on("change:description", label);
    el.appendChild(button);
    return () => model.off("change:description", label);
  },
};
"""


class CopyButton(anywidget.AnyWidget):
    _esm = _ESM
    text = t.Unicode("").tag(sync=True)
    description = t.Unicode("Copy").tag(sync=True)
    copies = t.Int(0).tag(sync=True)
