// suratdesa pages: a print button, the post's list keeping its statuses current, and the officials' inbox saying
// when new drafts have arrived. Pages work without it.
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

(function watchInbox() {
  var notice = document.querySelector("[data-new-drafts]");
  if (!notice) { return; }
  var shown = {};
  document.querySelectorAll("[data-waiting]").forEach(function (item) {
    shown[item.getAttribute("data-waiting")] = true;
  });
  var poll = function () {
    if (document.hidden) { window.setTimeout(poll, 10000); return; }
    fetch(notice.getAttribute("data-waiting-url"), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (body) {
        var arrived = body.waiting.filter(function (id) { return !shown[id]; }).length;
        if (arrived > 0) {
          notice.querySelector("[data-new-drafts-text]").textContent =
            arrived + " surat baru menunggu persetujuan.";
          notice.hidden = false;
        }
        window.setTimeout(poll, 10000);
      })
      .catch(function () { window.setTimeout(poll, 30000); });
  };
  window.setTimeout(poll, 10000);
}());
