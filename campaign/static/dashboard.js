// The plan dashboard without reloading: live accent-insensitive search and column sorting.
// Without JavaScript the same search, filters and sorting work as links and a GET form.
(function () {
  "use strict";

  function fold(text) {
    return text.replace(/Đ/g, "D").replace(/đ/g, "d").normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").replace(/\s+/g, " ").trim().toLowerCase();
  }

  function liveSearch(input) {
    var table = document.getElementById(input.dataset.liveSearch);
    if (!table) { return; }
    var rows = table.tBodies[0].rows;
    input.addEventListener("input", function () {
      var needle = fold(input.value);
      for (var i = 0; i < rows.length; i++) {
        var hay = rows[i].dataset.search;
        if (hay === undefined) { continue; }
        rows[i].hidden = needle !== "" && hay.indexOf(needle) === -1;
      }
    });
  }

  function sortable(table) {
    var body = table.tBodies[0];
    table.querySelectorAll("thead a[data-sort]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var key = "rank" + link.dataset.sort.charAt(0).toUpperCase() + link.dataset.sort.slice(1);
        var heading = link.closest("th");
        var descending = heading.getAttribute("aria-sort") === "ascending";
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) {
          return r.dataset[key] !== undefined;
        });
        rows.sort(function (a, b) {
          var d = Number(a.dataset[key]) - Number(b.dataset[key]);
          return descending ? -d : d;
        });
        rows.forEach(function (r, i) {
          body.appendChild(r);
          r.cells[0].textContent = String(i + 1);  // STT follows the new order
        });
        table.querySelectorAll("thead th[aria-sort]").forEach(function (other) {
          other.removeAttribute("aria-sort");
        });
        heading.setAttribute("aria-sort", descending ? "descending" : "ascending");
      });
    });
  }

  // The print button is hidden until this script makes it work (no inline handler: the CSP).
  function printButton(button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-print]").forEach(printButton);
    document.querySelectorAll("input[data-live-search]").forEach(liveSearch);
    document.querySelectorAll("table.summary").forEach(sortable);
  });
})();
