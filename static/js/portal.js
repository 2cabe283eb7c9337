/* 地域力創造ポータル: small progressive enhancements only. Every page works without this file. */
(function () {
  "use strict";
  // Moving to the main content with the skip link also moves keyboard focus there (old browsers).
  document.addEventListener("DOMContentLoaded", function () {
    var skip = document.querySelector(".skip-link");
    var main = document.getElementById("main");
    if (skip && main) {
      skip.addEventListener("click", function () { main.focus(); });
    }
  });
})();
