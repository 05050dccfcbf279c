// The quota grid's running total, as typed and before saving, by the server's rule
// (rates.totals): a quota counts only when no unit above it in the grid holds one, so a
// commune and a union under it are never both added. Each field carries its unit's id
// and its parent's (data-unit, data-parent); numbers are read as the server reads them.
(function () {
  "use strict";

  // A whole number >= 0 as campaign/spreadsheets/reading.py reads one; blank is null,
  // anything else undefined.
  function whole(value) {
    var text = value.replace(/[\s\u00a0]/g, "");
    if (text === "") { return null; }
    if (/^\d{1,3}(\.\d{3})+$/.test(text)) { text = text.replace(/\./g, ""); }
    else if (/^\d+,0+$/.test(text)) { text = text.split(",")[0]; }
    return /^\d+$/.test(text) ? Number(text) : undefined;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var output = document.getElementById("running-total");
    if (!output) { return; }
    var inputs = document.querySelectorAll("input[data-quota]");
    var given = output.dataset.given === "" ? null : Number(output.dataset.given);
    var gap = document.getElementById("running-gap");
    var parentOf = Object.create(null);
    inputs.forEach(function (input) { parentOf[input.dataset.unit] = input.dataset.parent; });

    function update() {
      var amounts = Object.create(null);
      var valid = true;
      inputs.forEach(function (input) {
        var amount = whole(input.value);
        if (amount === undefined) { valid = false; }
        amounts[input.dataset.unit] = amount || 0;
      });
      var total = 0;
      Object.keys(amounts).forEach(function (unit) {
        if (amounts[unit] <= 0) { return; }
        for (var above = parentOf[unit]; above in parentOf; above = parentOf[above]) {
          if (amounts[above] > 0) { return; }
        }
        total += amounts[unit];
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
