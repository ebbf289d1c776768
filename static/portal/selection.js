/* Grid selection: count what is ticked in a sticky bar, "select all on this page", show only the
 * field the chosen action needs. Without JavaScript the same form posts as it is. */
(function () {
  "use strict";

  var form = document.querySelector("[data-bulk-form]");
  if (!form) { return; }
  var boxes = function () {
    return Array.prototype.slice.call(document.querySelectorAll('input[type="checkbox"][form="bulk-form"]'));
  };
  var count = form.querySelector("[data-bulk-count]");
  var all = form.querySelector("[data-select-all]");
  var action = form.querySelector('select[name="action"]');
  var applies = form.querySelectorAll("[data-bulk-apply]");
  var params = form.querySelectorAll("[data-bulk-param]");
  var needs = { add_tags: "tags", remove_tags: "tags", set_visibility: "visibility",
                move_to_team: "team", add_to_collection: "collection" };

  function update() {
    var list = boxes();
    var ticked = list.filter(function (box) { return box.checked; }).length;
    form.classList.toggle("has-selection", ticked > 0);
    count.textContent = ticked === 0
      ? "No assets selected. Tick the assets to act on."
      : ticked + " selected";
    Array.prototype.forEach.call(applies, function (button) { button.disabled = ticked === 0; });
    list.forEach(function (box) {
      var card = box.closest("[data-asset-id]");
      if (card) { card.classList.toggle("is-selected", box.checked); }
    });
    if (all) {
      all.checked = ticked > 0 && ticked === list.length;
      all.indeterminate = ticked > 0 && ticked < list.length;
    }
  }

  function showParams() {
    var needed = needs[action.value] || "";
    Array.prototype.forEach.call(params, function (field) {
      var on = field.getAttribute("data-bulk-param") === needed;
      field.hidden = !on;
      var control = field.querySelector("input, select");
      if (control) { control.disabled = !on; }
    });
  }

  if (all) {
    all.closest("[data-select-all-wrap]").hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('input[form="bulk-form"]')) { update(); }
  });
  action.addEventListener("change", showParams);
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var removing = submitter && submitter.hasAttribute("formaction");
    if (!removing && !action.value) {
      event.preventDefault();
      count.textContent = "Choose an action first.";
      action.focus();
    }
  });
  showParams();
  update();
})();
