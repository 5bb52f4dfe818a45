// Checkout: show the address field or the pickup-point list, whichever delivery is chosen.
// Without JavaScript both stay visible and the server checks what is needed.
(function () {
  var form = document.querySelector(".checkout-form");
  if (!form) { return; }
  function update() {
    var chosen = form.querySelector("input[name=delivery_kind]:checked");
    var pickup = chosen && chosen.value === "pickup";
    form.querySelector(".when-address").hidden = pickup;
    form.querySelector(".when-pickup").hidden = !pickup;
  }
  form.querySelectorAll("input[name=delivery_kind]").forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
