// The result form adds up the bags as they are typed and shows the rate they would make.
// The rate only under the per-bag rule (the page says so with data-quota): there the sum of
// the three fields is the plan's count. The server's figures (quota, what counts already) come with
// the page, worked out by rates.py; the rate is shown as rates.display_percent shows it.
(function () {
  "use strict";

  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  // One decimal, half up; never 100,0% for a unit just below or just above its quota.
  function percent(collected, quota) {
    var tenths = Math.floor((2000 * collected + quota) / (2 * quota));
    if (collected < quota && tenths >= 1000) { tenths = 999; }
    if (collected > quota && tenths <= 1000) { tenths = 1001; }
    return grouped(Math.floor(tenths / 10)) + "," + (tenths % 10) + "%";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("outlook");
    var typed = document.getElementById("typed-bags");
    if (!box || !typed) { return; }
    var quota = Number(box.dataset.quota || 0);
    var others = Number(box.dataset.others);
    var rate = document.getElementById("expected-rate");
    var fields = ["bags_250", "bags_350", "bags_450"].map(function (id) {
      return document.getElementById(id);
    }).filter(Boolean);

    function update() {
      var sum = 0;
      fields.forEach(function (field) {
        var value = field.value.trim();
        if (/^\d+$/.test(value)) { sum += Number(value); }
      });
      typed.textContent = grouped(sum);
      if (rate && quota > 0) { rate.textContent = percent(others + sum, quota); }
    }

    fields.forEach(function (field) { field.addEventListener("input", update); });
  });
})();
