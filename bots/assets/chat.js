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

  // Links become clickable, shown as their domain; everything else stays plain text.
  function fill(p, text) {
    p.textContent = "";
    var re = /https?:\/\/[^\s]+/g, last = 0, m;
    while ((m = re.exec(text))) {
      var href = m[0].replace(/[.,;:!?)"']+$/, "");
      var domain = href.replace(/^https?:\/\//, "").split(/[\/?#]/)[0];
      if (!domain) continue;
      p.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = document.createElement("a");
      a.href = href;
      a.rel = "noopener";
      a.target = "_blank";
      a.textContent = domain;
      p.appendChild(a);
      last = m.index + href.length;
      re.lastIndex = last;
    }
    p.appendChild(document.createTextNode(text.slice(last)));
  }

  // "rate:ID:N" buttons are read as "N stelle su 5".
  function ratingName(data) {
    var m = /^rate:\d+:(\d)$/.exec(data);
    if (!m) return null;
    return m[1] === "1" ? list.getAttribute("data-star") : (list.getAttribute("data-stars") || "").replace("{n}", m[1]);
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
      var name = ratingName(b.data);
      if (name) button.setAttribute("aria-label", name);
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
    fill(text, m.text);
    text.setAttribute("data-raw", m.text);
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
      // An earlier list keeps its choices in its text (the server writes them there).
      var p = li.querySelector(".text");
      if (m && p && p.getAttribute("data-raw") !== m.text) {
        fill(p, m.text);
        p.setAttribute("data-raw", m.text);
      }
    });
    messages.forEach(function (m) {
      if (!list.querySelector('li[data-id="' + m.id + '"]')) list.appendChild(item(m));
    });
    // The newest message comes into view above the message box, which stays at the bottom.
    var last = list.lastElementChild;
    if (last && last.scrollIntoView) last.scrollIntoView({ block: "nearest" });
    if (form && form.scrollIntoView) form.scrollIntoView({ block: "nearest" });
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
    // The email address left for the reply: saved without leaving the page.
    var reach = document.getElementById("reach-form");
    if (reach) {
      reach.addEventListener("submit", function (e) {
        e.preventDefault();
        fetch("/chat/contact", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({
            email: reach.elements.email.value,
            phone: reach.elements.phone.value,
            consent: reach.elements.consent.checked ? "yes" : ""
          })
        }).then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (answer) {
            say(r.ok ? answer.notice : answer.error || "", !r.ok);
          });
        }, function () { say("Connessione assente. Riprova tra poco, per favore.", true); });
      });
    }
    live();
  });
})();
