// Mailyard pages work without JavaScript; this adds two things when it runs:
// 1. account states refresh in place (polling /dashboard/accounts/states every two seconds);
// 2. the Test button of the add-account form checks the settings without leaving the page.
(function () {
  "use strict";

  function refreshStates() {
    var badges = document.querySelectorAll("[data-account-state]");
    if (!badges.length) { return; }
    var ids = [];
    badges.forEach(function (el) {
      var id = el.getAttribute("data-account-state");
      if (ids.indexOf(id) < 0) { ids.push(id); }
    });
    fetch("/dashboard/accounts/states?ids=" + ids.map(encodeURIComponent).join(","), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (states) {
        Object.keys(states).forEach(function (id) {
          var s = states[id];
          document.querySelectorAll("[data-account-state]").forEach(function (el) {
            if (el.getAttribute("data-account-state") !== id) { return; }
            el.textContent = s.state;
            el.className = "state state-" + s.state;
          });
          document.querySelectorAll("[data-account-error]").forEach(function (el) {
            if (el.getAttribute("data-account-error") === id) { el.textContent = s.lastError || "—"; }
          });
        });
      })
      .catch(function () { /* the next round tries again */ });
  }

  function wireTestButton() {
    var button = document.querySelector("button[data-test-url]");
    if (!button) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var form = button.form;
      var results = document.getElementById("check-results");
      results.textContent = "Testing…";
      var body = new URLSearchParams(new FormData(form));
      fetch(button.getAttribute("data-test-url"), {method: "POST", body: body, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          results.textContent = "";
          var errors = answer.errors || {};
          Object.keys(answer.checks || {}).forEach(function (name) {
            var check = answer.checks[name];
            var p = document.createElement("p");
            p.className = check.success ? "ok" : "error";
            p.setAttribute("data-check", name);
            p.textContent = name.toUpperCase() + ": " + (check.success ? "works" : check.error);
            results.appendChild(p);
          });
          Object.keys(errors).forEach(function (field) {
            if (answer.checks && Object.keys(answer.checks).length) { return; }
            var p = document.createElement("p");
            p.className = "error";
            p.textContent = field + ": " + errors[field];
            results.appendChild(p);
          });
        })
        .catch(function () { results.textContent = "The test could not run."; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireTestButton();
    refreshStates();
    setInterval(refreshStates, 2000);
  });
})();
