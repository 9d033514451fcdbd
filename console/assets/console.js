// Sportello console: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Send the session's CSRF token with every htmx request.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
  });

  // Show times in the browser's local time.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString("it-IT", { dateStyle: "short", timeStyle: "short" });
    });
  }

  // The queue refreshes itself when the server says it changed (Server-Sent Events).
  function liveQueue() {
    var table = document.getElementById("queue-table");
    if (!table || !window.EventSource) return;
    var source = new EventSource("/queue/events");
    source.addEventListener("queue", function () {
      if (window.htmx) window.htmx.trigger(table, "queue-changed");
    });
    source.addEventListener("open", function () { table.setAttribute("data-live", "on"); });
    source.addEventListener("error", function () { table.setAttribute("data-live", "reconnecting"); });
  }

  // The reply box's length guide counts characters as the channel does.
  function lengthGuide() {
    var box = document.getElementById("reply-text");
    var out = document.getElementById("reply-count");
    if (!box || !out) return;
    var limit = parseInt(box.getAttribute("data-limit"), 10);
    function update() {
      var n = Array.from(box.value).length;
      out.textContent = n + " / " + limit + " caratteri";
      out.classList.toggle("over", n > limit);
    }
    box.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    liveQueue();
    lengthGuide();
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    localTimes(e.target);
    // Tell screen-reader users, politely, that the queue changed under them.
    var status = document.getElementById("queue-status");
    if (status && e.target.id === "queue-table") {
      var rows = e.target.querySelectorAll("tbody tr").length;
      status.textContent = "Coda aggiornata: " + rows + " conversazioni.";
    }
  });
})();
