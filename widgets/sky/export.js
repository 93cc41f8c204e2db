// The widget: load Aladin Lite locally, then ipyaladin's render plus the portal layers.
export default {
  async initialize({ model }) {
    try {
      await __portalLoad(model.get("_portal_script_paths"));
    } catch (err) {
      console.warn(err);
      model.set("_portal_error", String(err && err.message ? err.message : err));
      model.save_changes();
      return;
    }
    return __ipyaladinWidget.initialize({ model });
  },
  render({ model, el }) {
    if (__portalA === null) {
      const note = document.createElement("div");
      note.className = "portal-aladin-error";
      note.textContent = model.get("_portal_error") || "Aladin Lite is not loaded.";
      el.appendChild(note);
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
