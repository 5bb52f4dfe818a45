// Checkout: show the address field or the pickup-point list, whichever delivery is chosen, and
// make the totals follow the choices. Both deliveries are priced on the server (data-* on the
// totals); this only shows the chosen figures. Without JavaScript both fields stay visible, the
// totals show the choices the page was rendered with, and the server prices the order again.
(function () {
  var form = document.querySelector(".checkout-form");
  if (!form) { return; }
  var totals = form.querySelector(".checkout-totals");
  var roundUp = form.querySelector("input[name=round_up]");
  function figure(kind, name) { return totals.getAttribute("data-" + kind + "-" + name); }
  function update() {
    var chosen = form.querySelector("input[name=delivery_kind]:checked");
    var kind = chosen && chosen.value === "pickup" ? "pickup" : "address";
    form.querySelector(".when-address").hidden = kind === "pickup";
    form.querySelector(".when-pickup").hidden = kind !== "pickup";
    if (!totals) { return; }
    var rounded = roundUp && roundUp.checked && figure(kind, "has-round-up") === "1";
    totals.querySelector("[data-total=shipping]").textContent = figure(kind, "shipping");
    totals.querySelector("[data-total=round-up]").textContent = figure(kind, "round-up");
    totals.querySelectorAll(".when-round-up").forEach(function (row) { row.hidden = !rounded; });
    totals.querySelector("[data-total=to-pay]").textContent = figure(kind, rounded ? "rounded" : "total");
  }
  form.querySelectorAll("input[name=delivery_kind]").forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  if (roundUp) { roundUp.addEventListener("change", update); }
  update();
})();
