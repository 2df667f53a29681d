// bmad serve: live updates through server-sent events. Pages read fine without it.
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var board = document.body.dataset.events ? document.body : null;
  var live = document.getElementById("live");
  var root = live || board;
  if (!root) { return; }
  var source = new EventSource(root.dataset.events);
  source.addEventListener("board", function (event) {
    var data = JSON.parse(event.data);
    if (data.fingerprint !== board.dataset.fingerprint) { window.location.reload(); }
  });
  source.addEventListener("release", function (event) {
    var data = JSON.parse(event.data);
    // No phase runs and the phases stand otherwise than the page shows: the page is out of date (a
    // release that ended, or a page loaded between two phases of a run that has ended since).
    if (data.ended && data.statuses !== live.dataset.statuses) { window.location.reload(); return; }
    var now = live.querySelector("[data-field=now]");
    now.textContent = data.running ? data.running + " running for " + data.running_for : "finished: " + data.outcome;
    live.querySelector("[data-field=last_check]").textContent = data.last_check || "none yet";
    data.phases.forEach(function (line) {
      var row = live.querySelector("tr[data-phase=" + line.phase + "]");
      if (!row) { return; }
      var cells = row.querySelectorAll("td");
      var badge = cells[1].firstElementChild;
      badge.textContent = line.status;
      badge.className = "badge b-" + line.status;
      cells[2].textContent = line.duration;
      cells[3].textContent = line.checks;
    });
    live.dataset.running = data.running ? "1" : "0";
  });
})();
