// The case page: reply templates fill the public reply, `s` goes to the first suggested
// action and `r` to the resolution form, and the lazily loaded Stripe panel says so when it
// could not load instead of staying on "Loading…".
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

  // Keys of the case page, not while typing in a field: `s` goes to the Stripe panel's
  // first suggested action (Enter then opens it), `r` to the resolution form's first field.
  var places = {
    s: function () { return document.querySelector("#panel-suggestions [data-suggestion]"); },
    r: function () { return document.querySelector("#resolve-form select, #resolve-form textarea"); }
  };

  function goTo(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !places[event.key]) { return; }
    if (event.target.closest("input, textarea, select, [contenteditable]")) { return; }
    var place = places[event.key]();
    if (!place) { return; }
    event.preventDefault();
    place.scrollIntoView({ block: "center" });
    place.focus();
  }

  offerReplyTemplates();
  document.addEventListener("keydown", goTo);
  document.body.addEventListener("htmx:responseError", showPanelFailure);
  document.body.addEventListener("htmx:sendError", showPanelFailure);
  document.body.addEventListener("htmx:timeout", showPanelFailure);
}());
