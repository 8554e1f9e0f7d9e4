// The case page: reply templates fill the public reply, and the lazily loaded Stripe
// panel says so when it could not load instead of staying on "Loading…".
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

  offerReplyTemplates();
  document.body.addEventListener("htmx:responseError", showPanelFailure);
  document.body.addEventListener("htmx:sendError", showPanelFailure);
  document.body.addEventListener("htmx:timeout", showPanelFailure);
}());
