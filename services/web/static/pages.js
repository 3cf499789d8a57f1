// suratdesa pages: a print button, and the post's list keeping its statuses current. Pages work without it.
"use strict";
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { window.print(); }
});

(function followStatuses() {
  var list = document.querySelector("[data-status-url]");
  if (!list) { return; }
  var open = function () {
    return list.querySelectorAll("[data-letter]:not([data-final])").length > 0;
  };
  var update = function (rows) {
    rows.forEach(function (row) {
      var item = list.querySelector('[data-letter="' + row.id + '"]');
      if (!item) { return; }
      var status = item.querySelector("[data-status]");
      if (status.textContent !== row.label) {
        status.textContent = row.label;
        status.className = "status status-" + row.status;
      }
      if (row.pdf) {
        item.querySelector("[data-pdf]").href = row.pdf + "?unduh=1";
        item.querySelector("[data-print-pdf]").href = row.pdf;
        item.querySelector("[data-issued]").hidden = false;
      }
      if (["issued", "rejected", "revoked"].indexOf(row.status) >= 0) { item.setAttribute("data-final", ""); }
    });
  };
  var poll = function () {
    if (!open()) { return; }
    fetch(list.getAttribute("data-status-url"), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (body) { update(body.letters); window.setTimeout(poll, 3000); })
      .catch(function () { window.setTimeout(poll, 15000); });
  };
  list.querySelectorAll("[data-letter]").forEach(function (item) {
    var status = item.querySelector("[data-status]").className;
    if (/status-(issued|rejected|revoked)/.test(status)) { item.setAttribute("data-final", ""); }
  });
  window.setTimeout(poll, 3000);
}());
