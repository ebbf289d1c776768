/* Asset page: while an asset is pending or processing, ask the API for its status and reload
 * the page once it is ready or has failed. Without JavaScript a <noscript> meta refresh does it. */
(function () {
  "use strict";

  var box = document.querySelector("[data-status-poll]");
  if (!box || !window.fetch) { return; }

  var url = box.getAttribute("data-status-url");
  var busy = ["pending", "processing"];
  var delay = 1500;
  var started = Date.now();
  var giveUpAfter = 15 * 60 * 1000;

  function schedule() {
    if (Date.now() - started > giveUpAfter) { return; }
    delay = Math.min(Math.round(delay * 1.4), 15000);
    window.setTimeout(check, delay);
  }

  function check() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (asset) {
        if (busy.indexOf(asset.status) === -1) {
          window.location.reload();
          return;
        }
        var badge = document.querySelector("[data-status-text]");
        if (badge && asset.status !== box.getAttribute("data-status")) {
          box.setAttribute("data-status", asset.status);
          badge.textContent = asset.status.charAt(0).toUpperCase() + asset.status.slice(1);
          badge.className = "badge badge--" + asset.status;
        }
        schedule();
      })
      .catch(schedule);
  }

  schedule();
})();
