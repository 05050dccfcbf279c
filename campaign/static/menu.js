// On a narrow screen the top bar's links fold behind a menu button. Without this script
// the button stays hidden and the links stay open, so every page still works.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("button.menu-toggle");
    if (!button) { return; }
    var bar = button.closest(".topbar");
    bar.classList.add("collapsible");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      bar.classList.toggle("open", open);
    });
  });
})();
