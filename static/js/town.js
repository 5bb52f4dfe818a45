// Town portal: follow a background statement file until it is ready, then offer the download.
(function () {
  "use strict";
  var section = document.querySelector(".job-progress[data-status-url]");
  if (!section) { return; }
  var bar = section.querySelector("progress");
  var done = section.querySelector("[data-done]");
  var total = section.querySelector("[data-total]");
  var delay = 1000;

  function show(selector, visible) { section.querySelector(selector).hidden = !visible; }

  function poll() {
    fetch(section.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (job) {
        bar.max = Math.max(job.total, 1);
        bar.value = job.done;
        done.textContent = job.done;
        total.textContent = job.total;
        if (job.status === "done") {
          section.querySelector("[data-download]").href = job.download_url;
          show(".job-waiting", false);
          show(".job-ready", true);
        } else if (job.status === "failed") {
          show(".job-waiting", false);
          show(".job-failed", true);
        } else {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () { delay = Math.min(delay * 2, 15000); window.setTimeout(poll, delay); });
  }

  if (section.querySelector(".job-ready").hidden) { poll(); }
})();
