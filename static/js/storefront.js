// Checkout: show the address field or the pickup-point list, whichever delivery is chosen, and
// make the totals follow the choices (delivery, round-up, store credit). Every figure is priced on
// the server (data-* on the totals); this only shows the chosen ones. Without JavaScript both fields stay visible, the
// totals show the choices the page was rendered with, and the server prices the order again.
(function () {
  var form = document.querySelector(".checkout-form");
  if (!form) { return; }
  var totals = form.querySelector(".checkout-totals");
  var roundUp = form.querySelector("input[name=round_up]");
  var useCredit = form.querySelector("input[name=use_store_credit]");
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
    var credited = useCredit && useCredit.checked;
    var suffix = rounded ? "-rounded" : "";
    totals.querySelectorAll(".when-credit").forEach(function (row) { row.hidden = !credited; });
    if (credited) { totals.querySelector("[data-total=credit]").textContent = "−" + figure(kind, "credit" + suffix); }
    totals.querySelector("[data-total=to-pay]").textContent =
      credited ? figure(kind, "due" + suffix) : figure(kind, rounded ? "rounded" : "total");
  }
  form.querySelectorAll("input[name=delivery_kind]").forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  [roundUp, useCredit].forEach(function (box) { if (box) { box.addEventListener("change", update); } });
  update();
})();
// The region picker (checkout, saved addresses): choosing a province or a city fills the next
// select from /regions/<code> (GB/T 2260 on the server). Without JavaScript the 选择 button posts
// the form back and the page comes again with the next list.
(function () {
  document.querySelectorAll(".region-picker").forEach(function (picker) {
    var base = picker.getAttribute("data-regions-url");
    var province = picker.querySelector("select[name=province]");
    var city = picker.querySelector("select[name=city]");
    var district = picker.querySelector("select[name=district]");
    var step = picker.querySelector(".region-step");
    if (!province || !city || !district || !window.fetch) { return; }
    if (step) { step.hidden = true; }
    function clear(select) {
      while (select.options.length > 1) { select.remove(1); }  // keeps the "Choose…" option
      select.value = "";
    }
    function fill(select, code, then) {
      clear(select);
      if (!code) { if (then) { then(); } return; }
      fetch(base + encodeURIComponent(code), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          data.children.forEach(function (child) { select.add(new Option(child.name, child.code)); });
          if (data.children.length === 1) { select.value = data.children[0].code; }  // 北京市 → 市辖区
          if (then) { then(); }
        });
    }
    province.addEventListener("change", function () {
      clear(district);
      fill(city, province.value, function () { if (city.value) { fill(district, city.value); } });
    });
    city.addEventListener("change", function () { fill(district, city.value); });
  });
})();
