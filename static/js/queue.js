// The queue from the keyboard: j/k move, Enter opens (the only case a search found is
// selected already), a assigns to me, / searches. The selection survives htmx's quiet
// refresh of the rows.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table) { return; }
  var SELECTED = "queue-selected-case";
  var selectedId = sessionStorage.getItem(SELECTED);

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr[data-case-id]"));
  }

  function current() {
    return rows().find(function (row) { return row.dataset.caseId === selectedId; });
  }

  // The one case on the page, when there is exactly one (a search that found it): selected
  // from the start, so Enter opens it.
  function onlyOne() {
    var list = rows();
    return list.length === 1 ? list[0] : undefined;
  }

  function mark(row, focus) {
    rows().forEach(function (each) { each.setAttribute("aria-selected", each === row ? "true" : "false"); });
    if (!row) { return; }
    selectedId = row.dataset.caseId;
    sessionStorage.setItem(SELECTED, selectedId);
    if (focus) { row.focus(); }
  }

  function move(step) {
    var list = rows();
    if (!list.length) { return; }
    var index = list.indexOf(current());
    var next = index === -1 ? 0 : Math.min(Math.max(index + step, 0), list.length - 1);
    mark(list[next], true);
  }

  function assignToMe(row) {
    var token = document.querySelector("#queue-form [name=csrfmiddlewaretoken]").value;
    htmx.ajax("POST", table.dataset.assignUrl + window.location.search, {
      target: "#queue-rows",
      swap: "outerHTML",
      values: { "case": row.dataset.caseId, "assignee": "me" },
      headers: { "X-CSRFToken": token }
    });
  }

  var keys = {
    j: function () { move(1); },
    k: function () { move(-1); },
    Enter: function () { var row = current(); if (row) { window.location.assign(row.dataset.href); } },
    a: function () { var row = current(); if (row && table.dataset.canAssign) { assignToMe(row); } },
    "/": function () { document.getElementById("queue-search").focus(); }
  };

  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, select, textarea, button, a")) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || !keys[event.key]) { return; }
    event.preventDefault();
    keys[event.key]();
  });

  table.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-case-id]");
    if (row) { mark(row, false); }
  });

  document.body.addEventListener("htmx:afterSwap", function () {
    var row = current();
    var hadFocus = document.activeElement === document.body;
    if (row) { mark(row, hadFocus); }
  });

  mark(current() || onlyOne(), false);
}());
