/* Search page enhancement. Without JavaScript everything works as plain forms: the text form is a
 * GET with a Search button; the image form is a multipart POST with a file input and a button.
 * With it: changing the mode or the rerank toggle re-runs the current query, and dropping an image
 * on the drop zone (or anywhere on the page) or choosing one submits the image search at once. */
(function () {
  "use strict";

  var textForm = document.querySelector("[data-search-form]");
  var dropForm = document.querySelector("[data-search-drop]");

  function submit(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  if (textForm) {
    textForm.addEventListener("change", function (event) {
      if (!event.target.matches("[data-autosubmit]")) { return; }
      var query = textForm.querySelector('input[name="q"]');
      if (query && query.value.trim()) { submit(textForm); }
    });
    textForm.addEventListener("submit", function () {
      // A new query or mode starts again at the first result (no offset field is sent). Empty
      // filters stay out of the address, so a results link is short enough to share.
      Array.prototype.forEach.call(textForm.querySelectorAll("select, input[type='text']"), function (field) {
        if (!field.value) { field.disabled = true; }
      });
      textForm.setAttribute("aria-busy", "true");
    });
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(textForm.querySelectorAll(":disabled"), function (field) { field.disabled = false; });
      textForm.removeAttribute("aria-busy");
    });
  }

  if (!dropForm) { return; }
  var input = dropForm.querySelector('input[type="file"]');
  var status = dropForm.querySelector("[data-search-drop-status]");
  var button = dropForm.querySelector("[data-search-drop-submit]");

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function searchWith(files) {
    if (!files || !files.length) { return; }
    try {
      if (files !== input.files) {
        // Keep only the first file: one image is one query.
        var transfer = new DataTransfer();
        transfer.items.add(files[0]);
        input.files = transfer.files;
      }
    } catch (err) {
      status.textContent = "This browser cannot take dropped files here; choose the image with the button instead.";
      return;
    }
    status.textContent = "Searching with " + files[0].name + "…";
    dropForm.classList.add("is-busy");
    dropForm.setAttribute("aria-busy", "true");
    submit(dropForm);
  }

  dropForm.addEventListener("submit", function () {
    if (button) { button.disabled = true; }
  });

  input.addEventListener("change", function () { searchWith(input.files); });

  // The whole page accepts a dropped file, so a near miss does not open the image in the tab.
  var depth = 0;
  document.addEventListener("dragenter", function (event) {
    if (!hasFiles(event)) { return; }
    event.preventDefault();
    depth += 1;
    dropForm.classList.add("is-dragging");
  });
  document.addEventListener("dragover", function (event) {
    if (!hasFiles(event)) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", function (event) {
    if (!hasFiles(event)) { return; }
    depth = Math.max(0, depth - 1);
    if (depth === 0) { dropForm.classList.remove("is-dragging"); }
  });
  document.addEventListener("drop", function (event) {
    if (!hasFiles(event)) { return; }
    event.preventDefault();
    depth = 0;
    dropForm.classList.remove("is-dragging");
    searchWith(event.dataTransfer.files);
  });

  // Coming back with the browser's Back button must not leave the zone looking busy.
  window.addEventListener("pageshow", function () {
    dropForm.classList.remove("is-busy");
    dropForm.removeAttribute("aria-busy");
    if (button) { button.disabled = false; }
    status.textContent = "";
  });
})();
