// The widget: load Aladin Lite locally, then ipyaladin's render plus the portal layers.
// Nothing happens in `initialize` (anywidget gives it 2 s, and a loaded machine needs more to import and
// start the 2.6 MB aladin.js: "[anywidget] Failed to initialize model."); `render` first lets the rest of
// the page be drawn (`__portalPageSettled`), then loads Aladin Lite and, once a person's typing has paused again
// (`__portalInputPause`), draws the sky.
export default {
  async render({ model, el }) {
    try {
      await __portalPageSettled();
      await __portalLoad(model.get("_portal_script_paths"));
      await __ipyaladinWidget.initialize({ model });
      await __portalInputPause();
    } catch (err) {
      console.warn(err);
      const note = document.createElement("div");
      note.className = "portal-aladin-error";
      note.textContent = String(err && err.message ? err.message : err) || "Aladin Lite is not loaded.";
      el.appendChild(note);
      model.set("_portal_error", note.textContent);
      model.save_changes();
      return;
    }
    const cleanup = __ipyaladinWidget.render({ model, el });
    const removeLayers = __portalLayers(__portalLastCreated, model);
    return () => {
      removeLayers();
      if (typeof cleanup === "function") cleanup();
    };
  },
};
