// Mailyard pages work without JavaScript; this adds, when it runs:
// 1. live account state, last sync and last error (polling /dashboard/accounts/states every two seconds);
// 2. a live home page: counts per state, "Needs attention" and the outbox (polling /dashboard/overview);
// 3. the Test button of the account forms, checking the settings without leaving the page, its errors
//    shown beside their fields exactly where the page itself would put them.
// Text only ever goes in through textContent: nothing from the server is parsed as HTML.
(function () {
  "use strict";
  var PERIOD = 2000;

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; });
  }

  // The page's own format of a time ("2026-01-15 10:30:00 UTC"), so a live value reads like a drawn one.
  function when(iso) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "—" : d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function each(selector, attribute, id, fn) {
    document.querySelectorAll(selector).forEach(function (el) {
      if (el.getAttribute(attribute) === id) { fn(el); }
    });
  }

  function setBadge(el, state) {
    el.textContent = state;
    el.className = "state state-" + state;
  }

  function refreshStates() {
    var ids = [];
    document.querySelectorAll("[data-account-state]").forEach(function (el) {
      var id = el.getAttribute("data-account-state");
      if (ids.indexOf(id) < 0) { ids.push(id); }
    });
    if (!ids.length) { return; }
    var query = ids.slice(0, 100).map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    getJSON("/dashboard/accounts/states?" + query).then(function (states) {
      Object.keys(states || {}).forEach(function (id) {
        var s = states[id];
        each("[data-account-state]", "data-account-state", id, function (el) { setBadge(el, s.state); });
        each("[data-account-error]", "data-account-error", id, function (el) {
          var empty = el.hasAttribute("data-empty") ? el.getAttribute("data-empty") : "—";
          el.textContent = s.lastError || empty;
        });
        each("[data-account-sync]", "data-account-sync", id, function (el) { el.textContent = when(s.syncTime); });
      });
    }).catch(function () { /* the next round tries again */ });
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text || "";
    row.appendChild(td);
    return td;
  }

  function attentionRow(item) {
    var row = document.createElement("tr");
    row.setAttribute("data-attention", item.id);
    var link = document.createElement("a");
    link.href = item.url;
    link.textContent = item.id;
    cell(row, "").appendChild(link);
    cell(row, item.email);
    var badge = document.createElement("span");
    setBadge(badge, item.state);
    cell(row, "").appendChild(badge);
    var error = cell(row, item.lastError);
    error.className = "muted";
    error.setAttribute("data-account-error", item.id);
    return row;
  }

  function refreshOverview(box) {
    getJSON(box.getAttribute("data-overview")).then(function (o) {
      if (!o) { return; }
      var total = document.getElementById("count-total");
      if (total) { total.textContent = o.total; }
      Object.keys(o.counts).forEach(function (state) {
        var count = document.getElementById("count-" + state);
        if (count) { count.textContent = o.counts[state]; }
      });
      ["pending", "retrying", "failed"].forEach(function (name) {
        var dd = document.getElementById("outbox-" + name);
        if (dd) { dd.textContent = o.outbox[name]; }
      });
      var rows = document.getElementById("attention-rows");
      rows.replaceChildren.apply(rows, o.attention.map(attentionRow));
      document.getElementById("attention-table").hidden = !o.attention.length;
      document.getElementById("no-attention").hidden = o.attention.length > 0;
    }).catch(function () { /* the next round tries again */ });
  }

  // -- the Test button ------------------------------------------------------------------------------
  function clearErrors(form) {
    form.querySelectorAll(".field .error").forEach(function (p) { p.remove(); });
    form.querySelectorAll(".field.has-error").forEach(function (f) { f.classList.remove("has-error"); });
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
    var top = document.getElementById("e-form");
    if (top) { top.textContent = ""; top.hidden = true; }
  }

  function labelOf(input) {
    var label = input.id ? document.querySelector("label[for='" + input.id + "']") : null;
    return label ? label.textContent : "This field";
  }

  // An error beside its field, as the page draws it; one for a field the form does not show goes on top.
  function showError(form, name, message) {
    var input = form.querySelector("#f-" + CSS.escape(name));
    var field = input ? input.closest(".field") : null;
    if (!field) {
      var top = document.getElementById("e-form");
      var text = name === "form" ? message : (input ? labelOf(input) + " " : "") + message;
      top.textContent = top.textContent ? top.textContent + "; " + text : text;
      top.hidden = false;
      return;
    }
    var p = document.createElement("p");
    p.className = "error";
    p.id = "e-" + name;
    p.setAttribute("role", "alert");
    p.textContent = message;
    field.classList.add("has-error");
    field.appendChild(p);
    if (input.type !== "checkbox") {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", p.id);
    }
    // A field folded away (the hosted form's "Advanced") is unfolded, so its error can be seen.
    var details = field.closest("details");
    if (details) { details.open = true; }
  }

  function showChecks(results, checks) {
    Object.keys(checks).forEach(function (name) {
      var check = checks[name];
      var p = document.createElement("p");
      p.className = check.success ? "ok" : "error";
      p.setAttribute("data-check", name);
      p.textContent = name.toUpperCase() + ": " + (check.success ? "works" : check.error);
      results.appendChild(p);
    });
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
      body.set("action", "test");
      fetch(button.getAttribute("data-test-url"), {method: "POST", body: body, credentials: "same-origin"})
        .then(function (r) {
          if (!r.ok) { throw new Error(String(r.status)); }
          return r.json();
        })
        .then(function (answer) {
          results.textContent = "";
          clearErrors(form);
          showChecks(results, answer.checks || {});
          var errors = answer.errors || {};
          Object.keys(errors).forEach(function (name) { showError(form, name, errors[name]); });
        })
        .catch(function () { results.textContent = "The test could not run. Reload the page and try again."; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireTestButton();
    var overview = document.querySelector("[data-overview]");
    var poll = overview ? function () { refreshOverview(overview); } : refreshStates;
    poll();
    setInterval(poll, PERIOD);
  });
})();
