// The case page: reply templates fill the public reply, `s` goes to the first suggested
// action, and the lazily loaded Stripe panel says so when it could not load instead of
// staying on "Loading…".
(function () {
  "use strict";

  function offerReplyTemplates() {
    var picker = document.getElementById("reply-template");
    if (!picker) { return; }
    var target = document.getElementById(picker.dataset.replyTarget);
    picker.closest("[data-needs-js]").hidden = false;
    picker.addEventListener("change", function () {
      var option = picker.options[picker.selectedIndex];
      if (option.dataset.body !== undefined) {
        target.value = option.dataset.body;
        target.focus();
      }
    });
  }

  function showPanelFailure(event) {
    var panel = document.getElementById("stripe-panel");
    if (!panel || !panel.contains(event.detail.elt)) { return; }
    var loading = panel.querySelector("[data-loading]");
    var message = document.createElement("p");
    message.className = "message error";
    message.setAttribute("role", "alert");
    message.textContent = "The Stripe panel could not be loaded. Reload the page to try again.";
    if (loading) { loading.replaceWith(message); } else { panel.appendChild(message); }
    panel.removeAttribute("aria-busy");
  }

  // `s` (not while typing in a field) goes to the Stripe panel's first suggested action,
  // which Enter then opens.
  function focusFirstSuggestion(event) {
    if (event.key !== "s" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.target.closest("input, textarea, select, [contenteditable]")) { return; }
    var first = document.querySelector("#panel-suggestions [data-suggestion]");
    if (!first) { return; }
    event.preventDefault();
    first.focus();
  }

  offerReplyTemplates();
  document.addEventListener("keydown", focusFirstSuggestion);
  document.body.addEventListener("htmx:responseError", showPanelFailure);
  document.body.addEventListener("htmx:sendError", showPanelFailure);
  document.body.addEventListener("htmx:timeout", showPanelFailure);
}());
