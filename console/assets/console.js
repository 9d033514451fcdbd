// Sportello console: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Send the session's CSRF token with every htmx request.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
  });

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

  // X's weighted length: links weigh 23, emoji 2, code points outside X's light ranges 2.
  var LIGHT = [[0x0, 0x10ff], [0x2000, 0x200d], [0x2010, 0x201f], [0x2032, 0x2037]];
  function xLength(text) {
    var total = 0;
    text.normalize("NFC").split(/(\s+)/).forEach(function (word) {
      if (/^(https?:\/\/|www\.)/i.test(word)) { total += 23; return; }
      var parts = window.Intl && Intl.Segmenter
        ? Array.from(new Intl.Segmenter("it", { granularity: "grapheme" }).segment(word), function (s) { return s.segment; })
        : Array.from(word);
      parts.forEach(function (g) {
        if (/\p{Extended_Pictographic}/u.test(g)) { total += 2; return; }
        Array.from(g).forEach(function (c) {
          var cp = c.codePointAt(0);
          total += LIGHT.some(function (r) { return cp >= r[0] && cp <= r[1]; }) ? 1 : 2;
        });
      });
    });
    return total;
  }

  // The reply box's length guide counts characters as the channel does.
  function lengthGuide() {
    var box = document.getElementById("reply-text");
    var out = document.getElementById("reply-count");
    if (!box || !out) return;
    var limit = parseInt(box.getAttribute("data-limit"), 10);
    var weighted = box.getAttribute("data-count") === "x";
    function update() {
      var n = weighted ? xLength(box.value) : Array.from(box.value).length;
      out.textContent = n + " / " + limit + " caratteri";
      out.classList.toggle("over", n > limit);
    }
    box.addEventListener("input", update);
    update();
  }

  // Panels marked data-tabs become tabs (WAI-ARIA tabs pattern); without scripts they all
  // show, one under the other.
  function tabs(box) {
    var panels = Array.prototype.slice.call(box.querySelectorAll(".preview-panel"));
    if (panels.length < 2) return;
    var list = document.createElement("div");
    list.className = "tablist";
    list.setAttribute("role", "tablist");
    list.setAttribute("aria-label", box.getAttribute("data-tabs"));
    var buttons = panels.map(function (panel, i) {
      var heading = panel.querySelector("h3");
      var tab = document.createElement("button");
      tab.type = "button";
      tab.id = panel.id + "-tab";
      tab.className = "tab";
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", panel.id);
      tab.textContent = heading ? heading.textContent : panel.id;
      if (heading) heading.classList.add("visually-hidden");
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      panel.tabIndex = 0;
      tab.addEventListener("click", function () { select(i, false); });
      tab.addEventListener("keydown", function (e) {
        var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
        if (step) { e.preventDefault(); select((i + step + panels.length) % panels.length, true); }
      });
      list.appendChild(tab);
      return tab;
    });
    function select(n, focus) {
      panels.forEach(function (p, j) {
        p.hidden = j !== n;
        buttons[j].setAttribute("aria-selected", j === n ? "true" : "false");
        buttons[j].tabIndex = j === n ? 0 : -1;
      });
      if (focus) buttons[n].focus();
    }
    box.insertBefore(list, box.firstChild);
    box.classList.add("tabbed");
    select(0, false);
  }

  // The reply box's "Inserisci" buttons: fetch the text and put it where the cursor is,
  // keeping what was typed (without this script the form posts the text and gets it back).
  function insertButtons() {
    var form = document.getElementById("reply-form");
    var box = document.getElementById("reply-text");
    if (!form || !box || !window.fetch) return;
    form.querySelectorAll("button[data-insert]").forEach(function (button) {
      button.addEventListener("click", function (e) {
        e.preventDefault();
        var param = button.getAttribute("data-insert");
        var select = document.getElementById(param);
        if (!select) return;
        var url = form.getAttribute("data-snippets") + "?" + param + "=" + encodeURIComponent(select.value);
        fetch(url, { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) throw new Error(r.status);
          return r.text();
        }).then(function (text) {
          var start = box.selectionStart, end = box.selectionEnd, value = box.value;
          if (document.activeElement !== box && start === end) start = end = value.length;
          var before = value.slice(0, start), after = value.slice(end);
          var sep = before && !/\s$/.test(before) ? "\n\n" : "";
          box.value = before + sep + text + after;
          var caret = (before + sep + text).length;
          box.focus();
          box.setSelectionRange(caret, caret);
          box.dispatchEvent(new Event("input", { bubbles: true }));
        }).catch(function () {
          form.requestSubmit ? form.requestSubmit(button) : form.submit();
        });
      });
    });
  }

  // Keyboard shortcuts: Ctrl+Enter sends the reply; outside text fields, N opens the next
  // conversation in the queue and C claims the one on screen.
  function shortcuts() {
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (t && t.id === "reply-text" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        var send = document.getElementById("send-reply");
        if (send) send.click();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      var target = null;
      if (e.key === "n" || e.key === "N") target = document.getElementById("next-in-queue");
      if (e.key === "c" || e.key === "C") target = document.getElementById("claim-button");
      if (target) {
        e.preventDefault();
        target.click();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-tabs]").forEach(tabs);
    liveQueue();
    lengthGuide();
    insertButtons();
    shortcuts();
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    // Tell screen-reader users, politely, that the queue changed under them.
    var status = document.getElementById("queue-status");
    if (status && e.target.id === "queue-table") {
      var rows = e.target.querySelectorAll("tbody tr").length;
      status.textContent = "Coda aggiornata: " + rows + " conversazioni.";
    }
  });
})();
