// Cooperative portal: small progressive enhancements (the pages work without them).
document.querySelectorAll("form[data-single-submit]").forEach((form) => {
  // A second tap while the first submit travels would send the form again; the server would
  // record one lot anyway (idempotency token), this only spares the connection.
  form.addEventListener("submit", () => {
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
  });
});
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
