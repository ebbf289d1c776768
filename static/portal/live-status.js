/* Live processing status: every element marked [data-live-status] (with data-status-url, the asset's
 * API address, and data-status) follows its asset from pending and processing to ready or failed
 * without a page reload. Its [data-live-status-badge] shows the status, its [data-live-status-error]
 * the reason of a failure; an optional [data-live-summary] on the page counts what is done.
 * Pages swapped in by script (the upload form) announce themselves with a "portal:content" event. */
(function () {
  "use strict";

  if (!window.fetch) { return; }

  var BUSY = ["pending", "processing"];
  var LABELS = { pending: "Pending", processing: "Processing", ready: "Ready", failed: "Failed" };
  var PARALLEL = 4;           // requests in flight at once, so a batch of hundreds stays gentle
  var GIVE_UP_AFTER = 15 * 60 * 1000;

  function isBusy(el) { return BUSY.indexOf(el.getAttribute("data-status")) !== -1; }

  function show(el, asset) {
    if (asset.status === el.getAttribute("data-status")) { return; }
    el.setAttribute("data-status", asset.status);
    var badge = el.querySelector("[data-live-status-badge]");
    if (badge) {
      badge.textContent = LABELS[asset.status] || asset.status;
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
      var queue = busy.slice();
      function next() {
        var el = queue.shift();
        if (!el) { return Promise.resolve(); }
        return fetch(el.getAttribute("data-status-url"), {
          credentials: "same-origin", headers: { Accept: "application/json" }
        })
          .then(function (response) {
            if (!response.ok) { throw new Error("status " + response.status); }
            return response.json();
          })
          .then(function (asset) { show(el, asset); })
          .catch(function () { /* try again next round */ })
          .then(next);
      }
      var workers = [];
      for (var i = 0; i < Math.min(PARALLEL, queue.length); i += 1) { workers.push(next()); }
      Promise.all(workers).then(function () {
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
