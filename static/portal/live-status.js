/* Live processing status: every element marked [data-live-status] (with data-asset-id, data-status
 * and data-status-endpoint, the batched status address /assets/status/) follows its asset from
 * pending and processing to ready or failed without a page reload, one request per round for all
 * of them. Its [data-live-status-badge] shows the status, its [data-live-status-error] the reason of
 * a failure; an optional [data-live-summary] counts what is done. Pages swapped in by script (the
 * upload form) announce themselves with a "portal:content" event whose detail is the new element. */
(function () {
  "use strict";

  if (!window.fetch) { return; }

  var BUSY = ["pending", "processing"];
  var CHUNK = 500;            // the endpoint's most ids per request
  var GIVE_UP_AFTER = 15 * 60 * 1000;

  function isBusy(el) { return BUSY.indexOf(el.getAttribute("data-status")) !== -1; }

  function show(el, asset) {
    if (asset.status === el.getAttribute("data-status")) { return; }
    el.setAttribute("data-status", asset.status);
    var badge = el.querySelector("[data-live-status-badge]");
    if (badge) {
      badge.textContent = asset.status_label || asset.status;
      badge.className = "badge badge--" + asset.status;
    }
    var error = el.querySelector("[data-live-status-error]");
    if (error) {
      error.hidden = asset.status !== "failed";
      error.textContent = asset.status === "failed" ? (asset.error || "No reason was recorded.") : "";
    }
  }

  function summarise(root) {
    var summary = root.querySelector("[data-live-summary]");
    if (!summary) { return; }
    var all = root.querySelectorAll("[data-live-status]");
    var counts = { ready: 0, failed: 0, busy: 0 };
    Array.prototype.forEach.call(all, function (el) {
      var status = el.getAttribute("data-status");
      if (status === "ready") { counts.ready += 1; } else if (status === "failed") { counts.failed += 1; } else { counts.busy += 1; }
    });
    var text = counts.ready + " of " + all.length + " ready";
    if (counts.failed) { text += " · " + counts.failed + " failed"; }
    text += counts.busy ? " · processing the rest…" : " · processing finished.";
    summary.textContent = text;
  }

  function watch(root) {
    var started = Date.now();
    var delay = 800;

    function round() {
      var busy = Array.prototype.filter.call(root.querySelectorAll("[data-live-status]"), isBusy);
      summarise(root);
      if (!busy.length || !root.isConnected || Date.now() - started > GIVE_UP_AFTER) { return; }
      var endpoint = busy[0].getAttribute("data-status-endpoint");
      var chunks = [];
      for (var i = 0; i < busy.length; i += CHUNK) { chunks.push(busy.slice(i, i + CHUNK)); }
      var requests = chunks.map(function (chunk) {
        var ids = chunk.map(function (el) { return el.getAttribute("data-asset-id"); });
        return fetch(endpoint + "?ids=" + ids.join(","), {
          credentials: "same-origin", headers: { Accept: "application/json" }
        })
          .then(function (response) {
            if (!response.ok) { throw new Error("status " + response.status); }
            return response.json();
          })
          .then(function (data) {
            var byId = {};
            data.assets.forEach(function (asset) { byId[String(asset.id)] = asset; });
            chunk.forEach(function (el) {
              var asset = byId[el.getAttribute("data-asset-id")];
              // Deleted meanwhile, or no longer visible: stop following it.
              if (asset) { show(el, asset); } else { el.removeAttribute("data-live-status"); }
            });
          })
          .catch(function () { /* try again next round */ });
      });
      Promise.all(requests).then(function () {
        summarise(root);
        delay = Math.min(Math.round(delay * 1.3), 10000);
        window.setTimeout(round, delay);
      });
    }

    if (root.querySelector("[data-live-status]")) { window.setTimeout(round, delay); summarise(root); }
  }

  document.addEventListener("portal:content", function (event) { watch(event.detail || document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { watch(document.querySelector("main") || document); });
  } else {
    watch(document.querySelector("main") || document);
  }
})();
