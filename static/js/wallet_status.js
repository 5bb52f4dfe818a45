// The WeChat Pay QR on the pay page: ask the shop every few seconds whether the order is paid
// (the webhook says so), then go to the order. Without JavaScript the page reloads itself.
(function () {
  var section = document.querySelector("[data-status-url]");
  if (!section || !window.fetch) { return; }
  var url = section.dataset.statusUrl;
  var tries = 0;
  function check() {
    tries += 1;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && !body.pending) { window.location.assign(body.order_url); return; }
        if (tries < 400) { window.setTimeout(check, tries < 20 ? 2000 : 5000); }
      })
      .catch(function () { window.setTimeout(check, 5000); });
  }
  window.setTimeout(check, 2000);
}());
