// A refused form's page opens on its errors, wherever the form is on the page: the error
// summary (templates/_error_summary.html) takes the focus, so a screen reader reads it out,
// and is scrolled into view. A part of the page loaded after it (the case page's Stripe
// panel, above its forms) pushes it down as it comes in: while the summary still has the
// focus, it is brought back into view.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) { return; }

  function show() { summary.scrollIntoView({block: "center"}); }

  summary.focus({preventScroll: true});
  show();
  document.body.addEventListener("htmx:afterSettle", function () {
    if (document.activeElement === summary) { show(); }
  });
}());
