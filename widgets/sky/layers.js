// Portal layers: drawn from the widget's state, so every view of the same model shows the same sky.
//   _portal_footprints  [[row, stcs], ...]   observations' fields of view (ObsCore s_region)
//   _portal_selected    [row, ...]           rows selected in the table or by a click
//   _portal_target      {ra, dec, radius, name} the target and the search circle (degrees)
//   _portal_moc         {order: [pixels]}    the archive's coverage
//   _portal_colors      {footprint, selected, target, moc}
//   _portal_image_fits  bytes                a sky map (one FITS image HDU) over the survey; empty: none
//   _portal_image       {name, colormap, opacity, min_cut, max_cut} how to draw it
// A click on footprints sends {event_type: "portal_footprints_clicked", rows, additive} to Python.
const __portalDefaultColors = { footprint: "#4fc3f7", selected: "#ffb300", target: "#ff4081", moc: "#66bb6a" };

function __portalShapes(A, stcs, row) {
  let shapes = [];
  try {
    shapes = A.footprintsFromSTCS(stcs, {});
  } catch (err) {
    console.warn(`gamma-portal: cannot draw s_region of row ${row}: ${stcs}`, err);
  }
  for (const shape of shapes) shape.__portalRow = row;
  return shapes;
}

function __portalLayers(aladin, model) {
  const A = __portalA;
  const colors = Object.assign({}, __portalDefaultColors, model.get("_portal_colors") || {});
  const observations = A.graphicOverlay({ name: "Observations", color: colors.footprint, lineWidth: 1 });
  const selected = A.graphicOverlay({ name: "Selected observations", color: colors.selected, lineWidth: 3 });
  const circle = A.graphicOverlay({ name: "Search circle", color: colors.target, lineWidth: 2 });
  const target = A.catalog({
    name: "Target", shape: "cross", color: colors.target, sourceSize: 16,
    displayLabel: true, labelColumn: "name", labelColor: colors.target, labelFont: "13px sans-serif",
  });
  aladin.addOverlay(observations);
  aladin.addOverlay(selected);
  aladin.addOverlay(circle);
  aladin.addCatalog(target);
  // The instance, reachable from its element (browser tests and benchmarks convert sky to pixels).
  Object.defineProperty(aladin.aladinDiv, "portalAladin", { value: aladin, configurable: true });
  let moc = null;
  let regionByRow = new Map();

  function drawSelection() {
    selected.removeAll();
    const shapes = [];
    for (const row of model.get("_portal_selected") || []) {
      const stcs = regionByRow.get(row);
      if (stcs !== undefined) shapes.push(...__portalShapes(A, stcs, row));
    }
    selected.addFootprints(shapes);
    aladin.view.requestRedraw();
    const count = new Set(shapes.map((shape) => shape.__portalRow)).size;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      aladin.aladinDiv.dataset.portalSelected = String(count);
    }));
  }

  function drawFootprints() {
    observations.removeAll();
    regionByRow = new Map();
    const shapes = [];
    for (const [row, stcs] of model.get("_portal_footprints") || []) {
      regionByRow.set(row, stcs);
      shapes.push(...__portalShapes(A, stcs, row));
    }
    observations.addFootprints(shapes);
    drawSelection();
    // Mark the view once the frame with the footprints has been painted (tests and benchmarks read it).
    const count = shapes.length;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      aladin.aladinDiv.dataset.portalFootprints = String(count);
    }));
  }

  function drawTarget() {
    circle.removeAll();
    target.removeAll();
    const t = model.get("_portal_target") || {};
    if (typeof t.ra === "number" && typeof t.dec === "number") {
      if (t.radius > 0) circle.add(A.circle(t.ra, t.dec, t.radius, { color: colors.target, lineWidth: 2 }));
      target.addSources([A.source(t.ra, t.dec, { name: t.name || "" })]);
    }
    aladin.view.requestRedraw();
  }

  function drawMoc() {
    if (moc !== null) {
      aladin.removeLayer(moc);
      moc = null;
    }
    const json = model.get("_portal_moc") || {};
    if (Object.keys(json).length > 0) {
      moc = A.MOCFromJSON(json, {
        name: "Archive coverage", color: colors.moc, opacity: 0.25, lineWidth: 1, fill: true, perimeter: true,
      });
      aladin.addMOC(moc);
    }
  }

  // The sky map: a FITS image layer made in the page from the widget's bytes (no URL, no CDN). A new file makes
  // a new layer; new options (colour map, opacity, cuts) change the layer in place.
  const imageLayerName = "gamma-portal sky map";
  let imageData = null;
  let imageLayer = null;
  function imageOptions(spec) {
    return {
      name: spec.name || "sky map", colormap: spec.colormap || "viridis", stretch: "linear",
      opacity: typeof spec.opacity === "number" ? spec.opacity : 0.7,
      minCut: spec.min_cut, maxCut: spec.max_cut,
    };
  }
  function imageDrawn(ok, message) {
    const div = aladin.aladinDiv;
    if (ok) {
      div.dataset.portalImage = (model.get("_portal_image") || {}).name || "sky map";
      delete div.dataset.portalImageError;
    } else {
      div.dataset.portalImageError = message;
      delete div.dataset.portalImage;
    }
    model.send({ event_type: "portal_image_drawn", ok, message });
  }
  function drawImage() {
    const data = model.get("_portal_image_fits");
    const spec = model.get("_portal_image") || {};
    const empty = !data || data.byteLength === 0;
    if (data !== imageData) {
      imageData = data;
      if (imageLayer !== null) {
        aladin.removeImageLayer(imageLayerName);
        imageLayer = null;
      }
      delete aladin.aladinDiv.dataset.portalImage;
      delete aladin.aladinDiv.dataset.portalImageError;
      if (empty) {
        aladin.view.requestRedraw();
        return;
      }
      const url = URL.createObjectURL(new Blob([data], { type: "application/fits" }));
      const options = imageOptions(spec);
      const layer = aladin.createImageFITS(url, options, () => {
        URL.revokeObjectURL(url);
        if (imageLayer === layer) imageDrawn(true, "");
      }, (err) => {
        URL.revokeObjectURL(url);
        if (imageLayer === layer) imageDrawn(false, String(err && err.message ? err.message : err));
      });
      imageLayer = layer;
      aladin.setOverlayImageLayer(layer, imageLayerName);
      return;
    }
    if (imageLayer !== null && !empty) {
      const options = imageOptions(spec);
      imageLayer.setOpacity(options.opacity);
      imageLayer.setColormap(options.colormap, { stretch: options.stretch });
      if (typeof options.minCut === "number" && typeof options.maxCut === "number") {
        imageLayer.setCuts(options.minCut, options.maxCut);
      }
      aladin.aladinDiv.dataset.portalImageColormap = options.colormap;
      aladin.aladinDiv.dataset.portalImageOpacity = String(options.opacity);
      aladin.view.requestRedraw();
    }
  }

  // Clicks: Aladin calls objectClicked once per object under the cursor. Footprints of ours are
  // gathered into one message; anything else goes to ipyaladin's own handler.
  const ipyaladinClicked = aladin.callbacksByEventName ? aladin.callbacksByEventName.objectClicked : null;
  let additive = false;
  let pending = null;
  const onPointer = (event) => { additive = event.ctrlKey || event.metaKey || event.shiftKey; };
  aladin.aladinDiv.addEventListener("pointerdown", onPointer, true);
  aladin.on("objectClicked", (object, xy) => {
    if (object && object.__portalRow !== undefined) {
      if (pending === null) {
        pending = new Set();
        queueMicrotask(() => {
          const rows = Array.from(pending).sort((a, b) => a - b);
          pending = null;
          model.send({ event_type: "portal_footprints_clicked", rows, additive });
        });
      }
      pending.add(object.__portalRow);
      return;
    }
    if (typeof ipyaladinClicked === "function") {
      try {
        ipyaladinClicked(object, xy);
      } catch (err) {
        console.warn("gamma-portal: ipyaladin's click handler failed", err);
      }
    }
  });

  const handlers = {
    "change:_portal_footprints": drawFootprints,
    "change:_portal_selected": drawSelection,
    "change:_portal_target": drawTarget,
    "change:_portal_moc": drawMoc,
    "change:_portal_image_fits": drawImage,
    "change:_portal_image": drawImage,
  };
  for (const [name, handler] of Object.entries(handlers)) model.on(name, handler);
  drawFootprints();
  drawTarget();
  drawMoc();
  drawImage();

  return () => {
    for (const [name, handler] of Object.entries(handlers)) model.off(name, handler);
    aladin.aladinDiv.removeEventListener("pointerdown", onPointer, true);
  };
}
