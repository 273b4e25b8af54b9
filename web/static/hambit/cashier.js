// Countdown to cashierExpireTime. The server's clock (the sandbox clock,
// which the admin API can move) decides; the browser only counts down from
// the server's "now" at page load. The server refuses late actions anyway.
(function () {
  "use strict";
  var el = document.getElementById("countdown");
  if (!el) { return; }
  var expire = Number(el.getAttribute("data-expire"));
  var offset = Number(el.getAttribute("data-now")) - Date.now();
  var out = document.getElementById("remaining");
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var left = Math.max(0, Math.floor((expire - (Date.now() + offset)) / 1000));
    out.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
    if (left <= 0) {
      el.classList.add("expired");
      el.textContent = "This cashier has expired.";
      var buttons = document.querySelectorAll("form.actions button");
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
      return;
    }
    setTimeout(tick, 1000);
  }
  tick();
}());
