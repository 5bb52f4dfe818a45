// Import progress: poll the job's JSON endpoint and move the progress bar; reload when the dry run
// or the apply has finished so the page shows the report or the final counts. Plain JS, no inline script (the CSP forbids it).
(function () {
  "use strict";
  var panel = document.getElementById("import-status");
  if (!panel) { return; }
  var status = panel.getAttribute("data-status");
  if (status === "checked" || status === "done" || status === "failed") { return; }
  var bar = document.getElementById("import-progress");
  var text = panel.querySelector("[data-state-text]");
  var url = panel.getAttribute("data-progress-url");

  function show(data) {
    if (bar) { bar.value = data.percent; bar.textContent = data.percent + "%"; }
    if (text && text.getAttribute("data-" + data.status)) {
      text.textContent = text.getAttribute("data-" + data.status) + (data.error ? " " + data.error : "");
    }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        show(data);
        if (data.status === "checked" || data.status === "done" || data.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
}());
