/* Live processing status: every element marked [data-live-status] (with data-asset-id, data-status
 * and data-status-endpoint, the batched status address /assets/status/) follows its asset from
 * pending and processing to ready or failed without a page reload, one request per round for all
 * of them. Its [data-live-status-badge] shows the status, its [data-live-status-error] the reason of
 * a failure; an optional [data-live-summary] counts what is done. Content added by script (the
 * upload form's rows as their files arrive) is announced with a "portal:content" event whose detail
 * is the element holding it; announcing the same element again wakes its one watcher up. */
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

  // One watcher per root: a later "portal:content" for the same root (the upload page adds rows as
  // their files arrive) wakes it up instead of starting a second round of requests beside it.
  var watchers = [];

  function watch(root) {
    for (var w = 0; w < watchers.length; w += 1) {
      if (watchers[w].root === root) { watchers[w].kick(); return; }
    }
    var started = Date.now();
    var delay = 800;
    var timer = null;
    var due = 0;
    var inFlight = false;

    function later(ms) {
      window.clearTimeout(timer);
      due = Date.now() + ms;
      timer = window.setTimeout(round, ms);
    }

    function stop() {
      timer = null;
      if (!root.isConnected) { watchers = watchers.filter(function (x) { return x.root !== root; }); }
    }

    function round() {
      timer = null;
      var busy = Array.prototype.filter.call(root.querySelectorAll("[data-live-status]"), isBusy);
      summarise(root);
      if (!busy.length || !root.isConnected || Date.now() - started > GIVE_UP_AFTER) { stop(); return; }
      inFlight = true;
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
        inFlight = false;
        summarise(root);
        delay = Math.min(Math.round(delay * 1.3), 10000);
        later(delay);
      });
    }

    // New elements to follow: look soon (never later than the first delay), without a second loop.
    function kick() {
      started = Date.now();
      delay = 800;
      if (!root.querySelector("[data-live-status]")) { return; }
      summarise(root);
      if (inFlight) { return; }
      if (timer === null || due - Date.now() > delay) { later(delay); }
    }

    watchers.push({ root: root, kick: kick });
    kick();
  }

  document.addEventListener("portal:content", function (event) { watch(event.detail || document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { watch(document.querySelector("main") || document); });
  } else {
    watch(document.querySelector("main") || document);
  }
})();
