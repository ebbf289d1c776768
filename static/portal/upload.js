/* Upload page enhancement: list chosen files, accept drops, and send the form with
 * XMLHttpRequest so each file shows its transfer progress. Without JavaScript (or without
 * FormData/XHR upload events) the form posts normally and the server renders the same pages. */
(function () {
  "use strict";

  if (!window.FormData || !window.XMLHttpRequest || !("upload" in new XMLHttpRequest())) {
    return;
  }

  function formatBytes(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit === 0 ? value : value.toFixed(1)) + " " + units[unit];
  }

  function parts(form) {
    return {
      input: form.querySelector('input[type="file"]'),
      list: form.querySelector("[data-file-list]"),
      status: form.querySelector("[data-upload-status]"),
      submit: form.querySelector("[data-upload-submit]")
    };
  }

  function renderList(form) {
    var p = parts(form);
    var files = p.input.files ? Array.prototype.slice.call(p.input.files) : [];
    p.list.textContent = "";
    p.list.hidden = files.length === 0;
    var total = 0;
    files.forEach(function (file, index) {
      total += file.size;
      var item = document.createElement("li");
      item.setAttribute("data-testid", "upload-file");
      var name = document.createElement("span");
      name.className = "file-list__name";
      name.textContent = file.name;
      var size = document.createElement("span");
      size.className = "file-list__size";
      size.textContent = formatBytes(file.size);
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.id = "upload-progress-" + index;
      bar.setAttribute("aria-label", "Transfer of " + file.name);
      item.appendChild(name);
      item.appendChild(size);
      item.appendChild(bar);
      p.list.appendChild(item);
    });
    if (files.length) {
      // The whole batch: one bar for all bytes, beside each file's own bar.
      var overall = document.createElement("li");
      overall.className = "upload-overall";
      overall.setAttribute("data-testid", "upload-overall");
      var label = document.createElement("span");
      label.className = "upload-overall__text";
      label.id = "upload-overall-label";
      label.textContent = "All files: " + formatBytes(total);
      var all = document.createElement("progress");
      all.max = 100;
      all.value = 0;
      all.setAttribute("data-upload-overall", "");
      all.setAttribute("aria-labelledby", "upload-overall-label");
      overall.appendChild(label);
      overall.appendChild(all);
      p.list.insertBefore(overall, p.list.firstChild);
    }
    if (files.length > 1) {
      var summary = document.createElement("li");
      summary.className = "file-list__summary";
      summary.textContent = files.length + " files, " + formatBytes(total) + " in all. A title applies only to a single file.";
      p.list.appendChild(summary);
    }
  }

  // Per-file progress from one request: the files travel in order, so the bytes sent so far
  // (scaled to leave out the multipart overhead) fill each file's bar in turn.
  function showProgress(form, loaded, total) {
    var p = parts(form);
    var files = Array.prototype.slice.call(p.input.files || []);
    var sizes = files.map(function (f) { return f.size; });
    var payload = sizes.reduce(function (a, b) { return a + b; }, 0);
    var sent = total > 0 ? loaded * (payload / total) : 0;
    var bars = p.list.querySelectorAll("progress:not([data-upload-overall])");
    var offset = 0;
    sizes.forEach(function (size, i) {
      var done = size === 0 ? (sent >= offset ? 1 : 0) : Math.min(Math.max((sent - offset) / size, 0), 1);
      if (bars[i]) { bars[i].value = Math.round(done * 100); }
      offset += size;
    });
    var percent = total > 0 ? Math.round((loaded / total) * 100) : 0;
    var overall = p.list.querySelector("[data-upload-overall]");
    if (overall) { overall.value = percent; }
    p.status.textContent = "Sending… " + percent + "%";
  }

  function swapIn(html, chosen) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var current = document.querySelector("main");
    if (!fresh || !current) { return false; }
    current.replaceWith(fresh);
    // The form came back with errors: keep the files chosen so they need not be picked again.
    var again = fresh.querySelector("[data-upload-form]");
    var input = again && again.querySelector('input[type="file"]');
    if (input && chosen && chosen.length) {
      try {
        input.files = chosen;
        renderList(again);
      } catch (err) { /* older browsers cannot assign files; the person picks them again */ }
    }
    document.title = doc.title;
    // Scripts of the swapped-in page do not run: tell the page's own (live-status.js) to look at it.
    document.dispatchEvent(new CustomEvent("portal:content", { detail: fresh }));
    fresh.focus();
    window.scrollTo(0, 0);
    return true;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-form]");
    if (form && event.target.matches('input[type="file"]')) { renderList(form); }
  });

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone) { return; }
      event.preventDefault();
      zone.classList.add("is-dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = event.target.closest && event.target.closest("[data-dropzone]");
      if (!zone) { return; }
      zone.classList.remove("is-dragging");
      if (type === "drop" && event.dataTransfer && event.dataTransfer.files.length) {
        event.preventDefault();
        var input = zone.querySelector('input[type="file"]');
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-form]");
    if (!form) { return; }
    event.preventDefault();
    var p = parts(form);
    renderList(form);
    p.submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    p.status.textContent = "Starting upload…";

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { showProgress(form, e.loaded, e.total); }
    });
    xhr.upload.addEventListener("load", function () {
      showProgress(form, 1, 1);
      p.status.textContent = "Files sent. Checking and storing them…";
    });
    xhr.addEventListener("load", function () {
      var target = new URL(xhr.responseURL || form.action, window.location.href);
      var expected = new URL(form.action, window.location.href);
      if (target.pathname !== expected.pathname) {
        // Redirected, e.g. to the login page after the session expired.
        window.location.assign(target.href);
        return;
      }
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("text/html") === 0 && swapIn(xhr.responseText, p.input.files)) { return; }
      fail("The server answered with an error (" + xhr.status + "). Please try again.");
    });
    xhr.addEventListener("error", function () {
      fail("The upload failed: the connection was interrupted. Please try again.");
    });
    xhr.send(new FormData(form));

    function fail(text) {
      p.submit.disabled = false;
      form.removeAttribute("aria-busy");
      p.status.textContent = text;
    }
  });
})();
