/* Upload page enhancement: list chosen files, accept drops, and send them one request per file (at
 * most MAX_IN_FLIGHT at a time) to the form's address, asking for JSON. Each file's bar follows its
 * own request, the overall bar all bytes sent; a file's row shows its outcome as soon as its request
 * answers (created, then its processing status live through live-status.js; duplicate; rejected
 * with the reason; or failed in transit, with a retry button) and one bad file never stops the rest.
 * Screen updates are gathered into one per animation frame and rows are built a chunk per frame, so
 * hundreds of files stay responsive. Without JavaScript (or without FormData/XHR upload events) the
 * form posts normally and the server renders its results page. */
(function () {
  "use strict";

  if (!window.FormData || !window.XMLHttpRequest || !("upload" in new XMLHttpRequest()) ||
      !window.requestAnimationFrame) {
    return;
  }

  var MAX_IN_FLIGHT = 3;
  var ROWS_PER_FRAME = 60;
  var TITLE_IGNORED = "The title was not used because several files were uploaded; each file is titled from its name.";

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

  function plural(count, one, many) { return count + " " + (count === 1 ? one : many); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function parts(form) {
    return {
      input: form.querySelector('input[type="file"]'),
      list: form.querySelector("[data-file-list]"),
      status: form.querySelector("[data-upload-status]"),
      submit: form.querySelector("[data-upload-submit]"),
      done: form.querySelector("[data-upload-done]"),
      notice: form.querySelector("[data-upload-notice]")
    };
  }

  /* --- One batch: the files chosen, their rows, the queue ------------------------------------ */

  function Batch(form) {
    var p = parts(form);
    this.form = form;
    this.p = p;
    this.endpoint = form.getAttribute("data-status-endpoint") || "";
    this.files = (p.input.files ? Array.prototype.slice.call(p.input.files) : []).map(function (file, index) {
      return { file: file, index: index, state: "idle", sent: 0, results: null, message: "", row: null, dirty: true };
    });
    this.totalBytes = this.files.reduce(function (sum, entry) { return sum + entry.file.size; }, 0);
    this.queue = [];          // entries waiting for a slot, in order
    this.inFlight = 0;
    this.started = false;
    this.stopped = false;     // a form error or an expired session: nothing more is sent
    this.rendered = 0;        // rows built so far
    this.frame = 0;
    this.newLive = false;     // rows with a processing badge added since the last frame
    this.fields = null;       // the form's other fields, read once when the upload starts
    this.render();
  }

  Batch.prototype.render = function () {
    var p = this.p;
    var self = this;
    p.list.textContent = "";
    p.list.hidden = this.files.length === 0;
    if (p.done) { p.done.hidden = true; }
    if (p.notice) { p.notice.hidden = true; p.notice.textContent = ""; }
    p.submit.disabled = false;
    if (!this.files.length) { return; }
    // The whole batch: one bar for all bytes, beside each file's own bar.
    var overall = el("li", "upload-overall");
    overall.setAttribute("data-testid", "upload-overall");
    var label = el("span", "upload-overall__text", "All files: " + formatBytes(this.totalBytes));
    label.id = "upload-overall-label";
    this.overall = el("progress");
    this.overall.max = 100;
    this.overall.value = 0;
    this.overall.setAttribute("data-upload-overall", "");
    this.overall.setAttribute("aria-labelledby", "upload-overall-label");
    overall.appendChild(label);
    overall.appendChild(this.overall);
    p.list.appendChild(overall);
    if (this.files.length > 1) {
      var summary = el("li", "file-list__summary",
        this.files.length + " files, " + formatBytes(this.totalBytes) + " in all. A title applies only to a single file.");
      p.list.appendChild(summary);
      this.summaryItem = summary;
    }
    p.list.__batch = this;
    // The first rows at once, the rest a chunk per frame: hundreds of rows never block the page.
    this.buildRows();
    if (this.rendered < this.files.length) {
      window.requestAnimationFrame(function more() {
        if (p.list.isConnected && self === p.list.__batch) {
          self.buildRows();
          if (self.rendered < self.files.length) { window.requestAnimationFrame(more); }
        }
      });
    }
  };

  Batch.prototype.buildRows = function () {
    var fragment = document.createDocumentFragment();
    var end = Math.min(this.rendered + ROWS_PER_FRAME, this.files.length);
    for (var i = this.rendered; i < end; i += 1) {
      var entry = this.files[i];
      var item = el("li", "upload-row");
      item.setAttribute("data-testid", "upload-file");
      item.appendChild(el("span", "file-list__name", entry.file.name));
      item.appendChild(el("span", "file-list__size", formatBytes(entry.file.size)));
      var bar = el("progress");
      bar.max = 100;
      bar.value = 0;
      bar.id = "upload-progress-" + entry.index;
      bar.setAttribute("aria-label", "Transfer of " + entry.file.name);
      item.appendChild(bar);
      var outcome = el("div", "file-list__outcome");
      outcome.hidden = true;
      item.appendChild(outcome);
      entry.row = { item: item, bar: bar, outcome: outcome, percent: -1, shown: null };
      entry.dirty = true;
      this.paintRow(entry);
      fragment.appendChild(item);
    }
    this.rendered = end;
    this.p.list.insertBefore(fragment, this.summaryItem || null);
  };

  /* --- Sending ------------------------------------------------------------------------------- */

  Batch.prototype.start = function () {
    var p = this.p;
    var self = this;
    // The other fields as they are now: every file's request (and retry) carries the same ones.
    var fields = [];
    var titled = false;
    new FormData(this.form).forEach(function (value, name) {
      if (name === "files") { return; }
      if (name === "title" && self.files.length > 1) { titled = titled || value !== ""; return; }
      fields.push([name, value]);
    });
    this.fields = fields;
    if (p.notice) { p.notice.hidden = true; }
    if (titled) { this.notify(TITLE_IGNORED, "info"); }
    this.stopped = false;
    this.files.forEach(function (entry) {
      if (entry.state === "idle" || entry.state === "failed") { self.enqueue(entry); }
    });
    if (!this.queue.length) { return; }
    this.started = true;
    p.submit.disabled = true;
    p.input.disabled = true;
    this.form.setAttribute("aria-busy", "true");
    if (p.done) { p.done.hidden = true; }
    p.status.textContent = "Starting upload…";
    this.pump();
  };

  Batch.prototype.enqueue = function (entry) {
    entry.state = "queued";
    entry.sent = 0;
    entry.message = "";
    entry.results = null;
    entry.dirty = true;
    this.queue.push(entry);
  };

  Batch.prototype.pump = function () {
    while (!this.stopped && this.inFlight < MAX_IN_FLIGHT && this.queue.length) {
      this.send(this.queue.shift());
    }
    this.schedule();
  };

  Batch.prototype.send = function (entry) {
    var self = this;
    var form = this.form;
    var data = new FormData();
    this.fields.forEach(function (pair) { data.append(pair[0], pair[1]); });
    data.append("files", entry.file, entry.file.name);
    entry.state = "sending";
    entry.dirty = true;
    this.inFlight += 1;

    var xhr = new XMLHttpRequest();
    var settled = false;
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable || e.total <= 0) { return; }
      // The request is this file plus a little multipart overhead: scale to the file's bytes.
      entry.sent = Math.min(entry.file.size, e.loaded * (entry.file.size / e.total));
      entry.dirty = true;
      self.schedule();
    });
    xhr.upload.addEventListener("load", function () {
      entry.sent = entry.file.size;
      entry.dirty = true;
      self.schedule();
    });
    function finish(handler) {
      if (settled) { return; }
      settled = true;
      self.inFlight -= 1;
      handler();
      entry.dirty = true;
      self.pump();
    }
    xhr.addEventListener("load", function () {
      finish(function () { self.answered(entry, xhr); });
    });
    xhr.addEventListener("error", function () {
      finish(function () { self.failed(entry, "The connection was interrupted."); });
    });
    xhr.addEventListener("abort", function () {
      finish(function () { self.failed(entry, "The transfer was cancelled."); });
    });
    xhr.send(data);
  };

  Batch.prototype.answered = function (entry, xhr) {
    var target = new URL(xhr.responseURL || this.form.action, window.location.href);
    var expected = new URL(this.form.action, window.location.href);
    if (target.pathname !== expected.pathname) {
      // Redirected, e.g. to the login page after the session expired: go there, send nothing more.
      this.stopped = true;
      window.location.assign(target.href);
      return;
    }
    var body = null;
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("application/json") === 0) {
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
    }
    if (xhr.status === 200 && body && body.results) {
      entry.state = "done";
      entry.results = body.results;
      entry.sent = entry.file.size;
      if (body.title_ignored) { this.notify(TITLE_IGNORED, "info"); }
      return;
    }
    if (xhr.status === 400 && body && body.errors) {
      var names = Object.keys(body.errors);
      var messages = [];
      names.forEach(function (name) { messages = messages.concat(body.errors[name]); });
      if (names.length === 1 && names[0] === "files") {
        // About this file alone: a rejection like any other.
        entry.state = "done";
        entry.results = [{ filename: entry.file.name, status: "rejected", id: null, reason: messages.join(" ") }];
        return;
      }
      // About the form (team, visibility, ...): every file would get the same answer. Stop, say why,
      // and let the person correct the form and send what is left.
      this.stop();
      entry.state = "idle";
      entry.sent = 0;
      this.notify("The files were not uploaded: " + messages.join(" ") + " Correct the form and press Upload again.", "error");
      return;
    }
    this.failed(entry, "The server answered with an error (" + xhr.status + ").");
  };

  Batch.prototype.failed = function (entry, message) {
    entry.state = "failed";
    entry.sent = 0;
    entry.message = message;
  };

  Batch.prototype.stop = function () {
    this.stopped = true;
    this.queue.forEach(function (entry) { entry.state = "idle"; entry.dirty = true; });
    this.queue = [];
  };

  Batch.prototype.retry = function (entry) {
    if (entry.state !== "failed") { return; }
    this.enqueue(entry);
    this.stopped = false;
    this.p.submit.disabled = true;
    this.p.input.disabled = true;
    this.form.setAttribute("aria-busy", "true");
    if (this.p.done) { this.p.done.hidden = true; }
    this.pump();
  };

  Batch.prototype.notify = function (text, kind) {
    var notice = this.p.notice;
    if (!notice) { return; }
    if (kind === "info" && !notice.hidden && notice.className.indexOf("alert--error") !== -1) { return; }
    notice.className = "alert alert--" + kind;
    notice.setAttribute("role", kind === "error" ? "alert" : "status");
    notice.textContent = text;
    notice.hidden = false;
  };

  /* --- Painting: at most once per frame ------------------------------------------------------ */

  Batch.prototype.schedule = function () {
    var self = this;
    if (this.frame) { return; }
    this.frame = window.requestAnimationFrame(function () {
      self.frame = 0;
      self.paint();
    });
  };

  Batch.prototype.paint = function () {
    var self = this;
    var sent = 0;
    var finished = 0;
    var busy = 0;
    var counts = { created: 0, duplicate: 0, rejected: 0, failed: 0 };
    this.files.forEach(function (entry) {
      sent += entry.sent;
      if (entry.state === "queued" || entry.state === "sending") { busy += 1; }
      if (entry.state === "done" || entry.state === "failed") { finished += 1; }
      if (entry.state === "failed") { counts.failed += 1; }
      if (entry.results) {
        entry.results.forEach(function (result) {
          if (counts[result.status] !== undefined) { counts[result.status] += 1; }
        });
      }
      if (entry.dirty && entry.row) { self.paintRow(entry); }
    });
    var percent = this.totalBytes > 0 ? Math.floor((sent / this.totalBytes) * 100) : (busy ? 0 : 100);
    if (this.overall && this.overall.value !== percent) { this.overall.value = percent; }
    var p = this.p;
    if (!this.started) { return; }
    if (busy && !this.stopped) {
      p.status.textContent = "Sending… " + percent + "% · " + finished + " of " + this.files.length + " files done";
    } else if (!this.inFlight) {
      var text = counts.created + " uploaded · " + plural(counts.duplicate, "duplicate", "duplicates") +
        " · " + counts.rejected + " rejected";
      if (counts.failed) { text += " · " + counts.failed + " failed (retry them below)"; }
      p.status.textContent = text;
      this.form.removeAttribute("aria-busy");
      p.input.disabled = false;
      // Nothing left to send unless the form was stopped: a new batch starts with new files.
      p.submit.disabled = !this.files.some(function (entry) { return entry.state === "idle"; });
      if (p.done) { p.done.hidden = !!this.files.some(function (e) { return e.state === "idle"; }); }
    }
    if (this.newLive) {
      this.newLive = false;
      // live-status.js follows every processing badge under the form, one request per round for all.
      document.dispatchEvent(new CustomEvent("portal:content", { detail: this.form }));
    }
  };

  Batch.prototype.paintRow = function (entry) {
    var row = entry.row;
    entry.dirty = false;
    var percent = Math.floor((entry.file.size > 0 ? entry.sent / entry.file.size : (entry.state === "done" ? 1 : 0)) * 100);
    if (row.percent !== percent) {
      row.bar.value = percent;
      row.percent = percent;
    }
    var shown = entry.state === "done" ? "done" : entry.state === "failed" ? "failed:" + entry.message : entry.state;
    if (row.shown === shown) { return; }
    row.shown = shown;
    row.item.setAttribute("data-state", entry.state);
    row.outcome.textContent = "";
    if (entry.state === "failed") {
      row.item.className = "upload-row result--failed";
      row.outcome.appendChild(el("span", "badge badge--failed", "Failed"));
      row.outcome.appendChild(el("span", "result__reason", entry.message));
      var retry = el("button", "button button--small", "Retry");
      retry.type = "button";
      retry.setAttribute("aria-label", "Retry " + entry.file.name);
      var self = this;
      retry.addEventListener("click", function () { self.retry(entry); });
      row.outcome.appendChild(retry);
      row.outcome.hidden = false;
    } else if (entry.state === "done") {
      var results = entry.results || [];
      if (results.length === 1) {
        row.item.className = "upload-row result--" + results[0].status;
        this.outcome(row.outcome, results[0], row.item);
      } else {
        // An archive: one line per member.
        row.item.className = "upload-row";
        var members = el("ul", "file-list__members");
        results.forEach(function (result) {
          var member = el("li", "result--" + result.status);
          member.appendChild(el("span", "result__name", result.filename));
          this.outcome(member, result, null);
          members.appendChild(member);
        }, this);
        if (!results.length) { row.outcome.appendChild(el("span", "result__reason", "Nothing in this file was uploaded.")); }
        row.outcome.appendChild(members);
      }
      row.outcome.hidden = false;
    } else {
      row.item.className = "upload-row";
      row.outcome.hidden = true;
    }
  };

  Batch.prototype.outcome = function (box, result, item) {
    var asset = result.asset || null;
    if (result.status === "created") {
      box.appendChild(el("span", "badge badge--ready", "Uploaded"));
      if (item && asset) {
        // The file name becomes the way to the new asset.
        var name = item.querySelector(".file-list__name");
        var link = el("a", "", name.textContent);
        link.href = asset.url;
        name.textContent = "";
        name.appendChild(link);
      }
      var live = el("span", "result__processing");
      live.setAttribute("data-live-status", "");
      live.setAttribute("data-asset-id", String(result.id));
      live.setAttribute("data-status", asset ? asset.status : "pending");
      live.setAttribute("data-status-endpoint", this.endpoint);
      live.appendChild(el("span", "visually-hidden", "Processing:"));
      var badge = el("span", "badge badge--" + (asset ? asset.status : "pending"), asset ? asset.status_label : "Pending");
      badge.setAttribute("data-live-status-badge", "");
      badge.setAttribute("data-testid", "processing-status");
      live.appendChild(badge);
      var error = el("span", "result__error", asset && asset.status === "failed" ? asset.error : "");
      error.setAttribute("data-live-status-error", "");
      error.hidden = !(asset && asset.status === "failed");
      live.appendChild(error);
      box.appendChild(live);
      this.newLive = true;
    } else if (result.status === "duplicate") {
      box.appendChild(el("span", "badge badge--pending", "Duplicate"));
      var reason = el("span", "result__reason", "Duplicate of ");
      var original = el("a", "", asset ? asset.title : "#" + result.id);
      original.href = asset ? asset.url : "/assets/" + result.id + "/";
      reason.appendChild(original);
      box.appendChild(reason);
    } else {
      box.appendChild(el("span", "badge badge--failed", "Rejected"));
      box.appendChild(el("span", "result__reason", result.reason || "The file was rejected."));
    }
  };

  /* --- Wiring -------------------------------------------------------------------------------- */

  function batchOf(form) {
    var list = form.querySelector("[data-file-list]");
    return list && list.__batch;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-form]");
    if (form && event.target.matches('input[type="file"]')) { new Batch(form); }
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
        if (input.disabled) { return; }  // a batch is on its way
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-form]");
    if (!form) { return; }
    var batch = batchOf(form);
    var input = form.querySelector('input[type="file"]');
    if (!batch || (input.files && batch.files.length !== input.files.length)) { batch = new Batch(form); }
    if (!batch.files.length) { return; }  // the server says "choose at least one file"
    event.preventDefault();
    batch.start();
  });
})();
