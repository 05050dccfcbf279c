// The quota grid's running total: the sum of the fields as typed, before saving.
// The allocation check the server shows after saving counts nested quotas only once.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var output = document.getElementById("running-total");
    if (!output) { return; }
    var inputs = document.querySelectorAll("input[data-quota]");
    var given = output.dataset.given === "" ? null : Number(output.dataset.given);
    var gap = document.getElementById("running-gap");

    function update() {
      var total = 0;
      var valid = true;
      inputs.forEach(function (input) {
        var text = input.value.replace(/\./g, "").trim();
        if (text === "") { return; }
        if (!/^\d+$/.test(text)) { valid = false; return; }
        total += Number(text);
      });
      output.textContent = valid ? total.toLocaleString("vi-VN") : "–";
      if (gap && given !== null) {
        var left = given - total;
        gap.textContent = valid ? left.toLocaleString("vi-VN") : "–";
        gap.classList.toggle("negative", valid && left < 0);
      }
    }

    inputs.forEach(function (input) { input.addEventListener("input", update); });
    update();
  });
})();
