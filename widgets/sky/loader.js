// Loader: Aladin Lite comes from the Jupyter server that serves this page, never from a CDN.
// `__portalAladin` stands in for the namespace ipyaladin imported statically; it forwards to the
// real namespace once `__portalLoad` has imported it, and records each Aladin instance created.
let __portalA = null;
let __portalLastCreated = null;
let __portalLoading = null;
let __portalStaticBase = null; // URL of the static folder aladin.js was loaded from

// Surveys named "gamma-portal:<name>" are HiPS served next to aladin.js (the offline sky).
const __portalLocalPrefix = "gamma-portal:";

function __portalSurvey(survey) {
  if (typeof survey === "string" && survey.startsWith(__portalLocalPrefix)) {
    return new URL("hips/" + survey.slice(__portalLocalPrefix.length), __portalStaticBase).href;
  }
  return survey;
}

function __portalCreate(div, options) {
  const resolved = Object.assign({}, options, { survey: __portalSurvey(options.survey) });
  const instance = __portalA.aladin(div, resolved);
  for (const method of ["setImageSurvey", "setBaseImageLayer"]) {
    const original = instance[method].bind(instance);
    instance[method] = (survey, ...rest) => original(__portalSurvey(survey), ...rest);
  }
  __portalLastCreated = instance;
  return instance;
}

const __portalAladin = new Proxy({}, {
  get(_target, key) {
    if (key === "aladin") return __portalCreate;
    if (__portalA === null) throw new Error("Aladin Lite is not loaded");
    return __portalA[key];
  },
});

function __portalBaseUrl() {
  const node = document.getElementById("jupyter-config-data");
  if (node) {
    try {
      const base = JSON.parse(node.textContent).baseUrl;
      if (base) return base.endsWith("/") ? base : base + "/";
    } catch (_err) { /* fall through */ }
  }
  return "/";
}

function __portalCandidates(paths) {
  const inVoila = document.body && document.body.dataset && document.body.dataset.voila !== undefined;
  const ordered = inVoila ? paths.slice() : paths.slice().reverse();
  const base = new URL(__portalBaseUrl(), window.location.origin);
  return ordered.map((p) => new URL(p, base).href);
}

async function __portalLoad(paths) {
  if (__portalA !== null) return __portalA;
  if (__portalLoading === null) {
    __portalLoading = (async () => {
      const tried = [];
      for (const url of __portalCandidates(paths)) {
        try {
          const module = await import(/* webpackIgnore: true */ url);
          const A = module.default;
          await A.init;
          __portalA = A;
          __portalStaticBase = new URL("../../", url).href; // <static>/aladin-lite/<version>/aladin.js
          return A;
        } catch (err) {
          tried.push(`${url} (${err && err.message ? err.message : err})`);
        }
      }
      throw new Error(
        "Aladin Lite could not be loaded from the Jupyter server. Run `make setup` " +
        "(or `python -m widgets.vendor`) to fetch it. Tried: " + tried.join("; ")
      );
    })();
  }
  return __portalLoading;
}

// Aladin Lite is heavy to start (a 2.6 MB module, its WebAssembly, WebGL, the first tiles and MOCs: about a second
// of main-thread work without a GPU, in tasks of 50 to 160 ms). Started while the page's other widgets are still
// being drawn, it delays them all; started while a person types, it delays their keys. So the sky waits until the
// page has stopped changing (no node added or removed for `quietMs`) and no key or button has been pressed for
// `idleMs`; once its module is loaded it waits again for typing to pause before drawing. All of it at most `maxMs` after the page's first
// sky: views created later (a product's map) start at once.
let __portalSettled = null;
let __portalDeadline = null;
let __portalLastInput = -Infinity;
for (const type of ["keydown", "pointerdown", "input"]) {
  document.addEventListener(type, () => { __portalLastInput = performance.now(); }, { capture: true, passive: true });
}

function __portalInputPause(idleMs = 800) {
  return new Promise((resolve) => {
    (function check() {
      const now = performance.now();
      const wait = Math.min(__portalLastInput + idleMs, __portalDeadline ?? now) - now;
      if (wait <= 0) resolve();
      else setTimeout(check, wait);
    })();
  });
}

function __portalPageSettled(quietMs = 300, maxMs = 5000) {
  if (__portalSettled === null) {
    __portalDeadline = performance.now() + maxMs;
    const quietPage = new Promise((resolve) => {
      let quiet = null;
      let cap = null;
      const observer = new MutationObserver(() => {
        clearTimeout(quiet);
        quiet = setTimeout(done, quietMs);
      });
      function done() {
        observer.disconnect();
        clearTimeout(quiet);
        clearTimeout(cap);
        resolve();
      }
      observer.observe(document.body, { childList: true, subtree: true });
      quiet = setTimeout(done, quietMs);
      cap = setTimeout(done, maxMs);
    });
    __portalSettled = quietPage.then(() => __portalInputPause());
  }
  return __portalSettled;
}
