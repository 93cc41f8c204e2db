/* The dashboard's kernel connection, watched from the page (the kernel cannot say it is gone).
 *
 * Inlined in the page's <head> by index.html.j2, before Voila's own scripts, so that the kernel's
 * websocket (`.../api/kernels/<id>/channels`) is made by this WebSocket class:
 * - the socket closes (Voila stopped, the network went): a banner says "Connection to the dashboard's
 *   kernel lost: reconnecting…" while JupyterLab's client tries again; when a socket opens again the
 *   banner goes. After RELOAD_AFTER_MS with none, it says to reload the page, with a Reload button;
 * - the server says the kernel restarted or died (a kernel status "restarting" or "dead"): the
 *   page's widgets went with the old kernel, so the banner says to reload at once.
 * Nothing is fetched, and nothing here may throw: every handler is guarded.
 */
(function () {
  "use strict";
  var RELOAD_AFTER_MS = 15000;
  var CHANNELS = /\/api\/kernels\/[^/?#]+\/channels/;
  var KERNEL_GONE = /"execution_state"\s*:\s*"(restarting|autorestarting|dead)"/;
  var STATUS = /"msg_type"\s*:\s*"status"/;
  var SMALL = 4096; // a status message is small; larger messages are not read
  var NativeWebSocket = window.WebSocket;
  if (!NativeWebSocket || window.gammaKernelWatch) {
    return;
  }
  var state = "connected"; // "connected", "reconnecting", "lost" or "restarted"
  var unloading = false;
  var timer = null;
  var banner = null;
  var decoder = typeof TextDecoder === "function" ? new TextDecoder("utf-8") : null;

  var TEXT = {
    reconnecting: "Connection to the dashboard's kernel lost: reconnecting…",
    lost: "Connection to the dashboard's kernel lost. Reload the page to start again " +
      "(what was on this page is gone).",
    restarted: "The dashboard's kernel stopped, and this page's widgets went with it. " +
      "Reload the page to start again."
  };

  function makeBanner() {
    var style = document.createElement("style");
    style.textContent =
      ".gamma-kernel-banner { position: sticky; top: 0; z-index: 100000; box-sizing: border-box; width: 100%;" +
      " display: none; align-items: center; gap: 12px; padding: 8px 16px;" +
      " font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif;" +
      " background: #fff4d6; color: #4a3500; border-bottom: 1px solid #d9a520;" +
      " box-shadow: 0 2px 6px rgba(0, 0, 0, 0.15); }" +
      ".gamma-kernel-banner.gamma-lost { background: #fde8e8; color: #611a15; border-bottom-color: #c62828; }" +
      ".gamma-kernel-banner-text { flex: 1 1 auto; }" +
      ".gamma-kernel-banner-reload { font: inherit; padding: 3px 14px; cursor: pointer; border-radius: 3px;" +
      " border: 1px solid #8b1c1c; background: #c62828; color: #fff; }";
    document.head.appendChild(style);
    var box = document.createElement("div");
    box.className = "gamma-kernel-banner";
    box.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.className = "gamma-kernel-banner-text";
    var reload = document.createElement("button");
    reload.type = "button";
    reload.className = "gamma-kernel-banner-reload";
    reload.textContent = "Reload";
    reload.addEventListener("click", function () {
      window.location.reload();
    });
    box.appendChild(text);
    box.appendChild(reload);
    document.body.insertBefore(box, document.body.firstChild); // in the flow: it moves the page down
    return box;
  }

  function show(next) {
    state = next;
    if (!document.body) {
      return;
    }
    if (banner === null) {
      banner = makeBanner();
    }
    if (next === "connected") {
      banner.style.display = "none";
      return;
    }
    banner.querySelector(".gamma-kernel-banner-text").textContent = TEXT[next];
    var mustReload = next === "lost" || next === "restarted";
    banner.classList.toggle("gamma-lost", mustReload);
    banner.querySelector(".gamma-kernel-banner-reload").style.display = mustReload ? "" : "none";
    banner.style.display = "flex";
  }

  function clearTimer() {
    if (timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
  }

  function opened() {
    clearTimer();
    if (state === "reconnecting" || state === "lost") {
      show("connected");
    }
  }

  function closed() {
    if (unloading || state === "restarted") {
      return;
    }
    if (state === "connected") {
      show("reconnecting");
    }
    if (timer === null && state === "reconnecting") {
      timer = window.setTimeout(function () {
        timer = null;
        if (state === "reconnecting") {
          show("lost");
        }
      }, RELOAD_AFTER_MS);
    }
  }

  function text(data) {
    if (typeof data === "string") {
      return data.length < SMALL ? data : "";
    }
    if (decoder !== null && data instanceof ArrayBuffer && data.byteLength < SMALL) {
      return decoder.decode(new Uint8Array(data));
    }
    return ""; // a Blob or a large message: not a status
  }

  function received(event) {
    var message = text(event.data);
    if (message && STATUS.test(message) && KERNEL_GONE.test(message)) {
      clearTimer();
      show("restarted");
    }
  }

  function guarded(fn) {
    return function (event) {
      try {
        fn(event);
      } catch (error) {
        // the banner is a help: never an error of the page's own
      }
    };
  }

  class WatchedWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      try {
        if (CHANNELS.test(String(url))) {
          this.addEventListener("open", guarded(opened));
          this.addEventListener("close", guarded(closed));
          this.addEventListener("message", guarded(received));
        }
      } catch (error) {
        // as above
      }
    }
  }

  window.WebSocket = WatchedWebSocket;
  window.addEventListener("beforeunload", function () {
    unloading = true;
  });
  window.addEventListener("pageshow", function () {
    unloading = false; // back from the page cache
  });
  window.gammaKernelWatch = {
    state: function () {
      return state;
    }
  };
})();
