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

/* Consultation form (相談申込): the form works without any of this. */
(function () {
  "use strict";

  // DADS error pattern: after a submission with errors, focus goes to the summary at the top.
  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  }

  // The municipality field suggests "code name" pairs from municipalities.json while typing.
  function municipalitySuggestions() {
    var inputs = document.querySelectorAll("input[data-lookup][list]");
    Array.prototype.forEach.call(inputs, function (input) {
      var list = document.getElementById(input.getAttribute("list"));
      if (!list || !window.fetch) {
        return;
      }
      var timer = null;
      var asked = "";
      var controller = null;
      function fill(items) {
        while (list.firstChild) {
          list.removeChild(list.firstChild);
        }
        items.forEach(function (item) {
          var option = document.createElement("option");
          option.value = item.code + " " + item.name;
          list.appendChild(option);
        });
      }
      function ask() {
        var query = input.value.trim();
        if (!query || query === asked || /^\d{6}\s/.test(query)) {
          return; // nothing typed, already asked, or a suggestion was just chosen
        }
        asked = query;
        if (controller) {
          controller.abort();
        }
        controller = window.AbortController ? new AbortController() : null;
        var url = input.getAttribute("data-lookup") + "?q=" + encodeURIComponent(query);
        fetch(url, { headers: { Accept: "application/json" }, signal: controller ? controller.signal : undefined })
          .then(function (response) { return response.ok ? response.json() : []; })
          .then(function (items) { if (input.value.trim() === query) { fill(items); } })
          .catch(function () { /* the field still takes a code or a name */ });
      }
      input.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(ask, 200);
      });
    });
  }

  // A long list of checkboxes gets a filter box: names, readings and affiliations that contain
  // what is typed stay visible, and so do the boxes already ticked.
  function choiceFilters() {
    var boxes = document.querySelectorAll("[data-choices-filter]");
    Array.prototype.forEach.call(boxes, function (box) {
      var list = document.getElementById(box.getAttribute("data-choices-filter"));
      var input = box.querySelector("input");
      var count = box.querySelector("[data-template]");
      if (!list || !input) {
        return;
      }
      var items = list.querySelectorAll("[data-filter]");
      function normalise(text) {
        return text.normalize("NFKC").toLowerCase().replace(/\s+/g, "").replace(/[\u30a1-\u30f6]/g, function (c) {
          return String.fromCharCode(c.charCodeAt(0) - 0x60);
        });
      }
      function apply() {
        var query = normalise(input.value);
        var shown = 0;
        Array.prototype.forEach.call(items, function (item) {
          var checkbox = item.querySelector("input");
          var visible = !query || normalise(item.getAttribute("data-filter")).indexOf(query) !== -1 ||
            (checkbox && checkbox.checked);
          item.hidden = !visible;
          if (visible) {
            shown += 1;
          }
        });
        if (count) {
          count.textContent = query ? count.getAttribute("data-template").replace("__N__", String(shown)) : "";
        }
      }
      input.addEventListener("input", apply);
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault(); // Enter filters; it does not send the form
        }
      });
      box.hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    municipalitySuggestions();
    choiceFilters();
    focusErrorSummary();
  });
})();
