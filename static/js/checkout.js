// Stripe's Payment Element (real keys only): card, Alipay and WeChat Pay as the account offers.
// The PaymentIntent and its amount were made on the server; this only collects and confirms.
(function () {
  var mount = document.getElementById("payment-element");
  if (!mount || typeof window.Stripe !== "function") { return; }
  var stripe = window.Stripe(mount.dataset.publishableKey, { locale: mount.dataset.locale });
  var elements = stripe.elements({ clientSecret: mount.dataset.clientSecret });
  elements.create("payment").mount(mount);
  var form = document.getElementById("payment-form");
  var button = form.querySelector("button");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: mount.dataset.returnUrl } })
      .then(function (result) {
        if (result.error) {
          document.getElementById("payment-error").textContent = result.error.message;
          button.disabled = false;
        }
      });
  });
})();
