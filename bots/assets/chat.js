// Sportello web chat: sends without reloading the page and shows new messages live. The page
// works without it (plain forms and a reload). Text is always set with textContent, never as
// markup.
(function () {
  "use strict";

  var list, form, box, notice, csrf, busy = false;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.from(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function say(text, error) {
    notice.textContent = text || "";
    notice.classList.toggle("error", !!error);
  }

  function who(author) {
    return author === "citizen" ? "Tu" : author === "operator" ? "Operatore" : "Assistente";
  }

  function choices(buttons) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Scelte");
    buttons.forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-outline";
      button.setAttribute("data-data", b.data);
      button.textContent = b.label;
      button.addEventListener("click", function () { press(b.data, b.label); });
      group.appendChild(button);
    });
    return group;
  }

  function item(m) {
    var li = document.createElement("li");
    li.className = "bubble bubble-" + m.author;
    li.setAttribute("data-id", m.id);
    var name = document.createElement("span");
    name.className = "who";
    name.textContent = (m.author === "operator" && m.signature) || who(m.author);
    var text = document.createElement("p");
    text.className = "text";
    text.textContent = m.text;
    li.appendChild(name);
    li.appendChild(text);
    if (m.buttons && m.buttons.length) li.appendChild(choices(m.buttons));
    return li;
  }

  // Bring the list in line with the transcript: new messages are appended (so screen readers
  // announce only them), and choices that no longer apply are removed.
  function show(messages) {
    var current = {};
    messages.forEach(function (m) { current[m.id] = m; });
    list.querySelectorAll("li[data-id]").forEach(function (li) {
      var m = current[li.getAttribute("data-id")];
      var group = li.querySelector(".choices");
      if (group && (!m || !m.buttons.length)) group.remove();
    });
    messages.forEach(function (m) {
      if (!list.querySelector('li[data-id="' + m.id + '"]')) list.appendChild(item(m));
    });
    var last = list.lastElementChild;
    if (last && last.scrollIntoView) last.scrollIntoView({ block: "nearest" });
  }

  function refresh() {
    return fetch("/chat/transcript", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) show(body.messages); });
  }

  function post(body) {
    body.id = newId();
    return fetch("/chat/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (answer) {
        if (!r.ok) {
          say(answer.error || "Il messaggio non è stato inviato. Riprova, per favore.", true);
          return false;
        }
        say(answer.notice || "");
        return refresh().then(function () { return true; });
      });
    }, function () {
      say("Connessione assente. Riprova tra poco, per favore.", true);
      return false;
    });
  }

  // The pressed group goes away, so keyboard focus moves to the message box.
  function press(data, label) {
    list.querySelectorAll(".choices").forEach(function (g) { g.remove(); });
    box.focus();
    post({ data: data, label: label });
  }

  function live() {
    if (!window.EventSource) return;
    var source = new EventSource("/chat/events");
    // On every (re)connection read the transcript, so nothing sent meanwhile is missed.
    source.addEventListener("open", function () {
      refresh().then(function () { list.setAttribute("data-live", "on"); });
    });
    source.addEventListener("message", function () { refresh(); });
    source.addEventListener("error", function () { list.setAttribute("data-live", "reconnecting"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    list = document.getElementById("transcript");
    form = document.getElementById("chat-form");
    box = document.getElementById("chat-text");
    notice = document.getElementById("chat-notice");
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (!list || !form || !box || !meta || !window.fetch) return;
    csrf = meta.content;

    // Buttons rendered by the server become script buttons too.
    list.querySelectorAll(".choices form").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        press(f.elements.data.value, f.elements.label.value);
      });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = box.value;
      if (!text.trim() || busy) return;
      busy = true;
      post({ text: text }).then(function (ok) {
        busy = false;
        if (ok) box.value = "";
        box.focus();
      });
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
      }
    });
    live();
  });
})();
