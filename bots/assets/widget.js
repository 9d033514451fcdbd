// Sportello web chat widget: include it with one tag on the office's website,
//   <script src="https://sportello.example.it/chat/widget.js" defer></script>
// and a "Scrivi all'URP" button opens the chat in a panel (an iframe on /chat).
// Optional attributes on the tag: data-label (the button's text).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var label = script.getAttribute("data-label") || "Scrivi all'URP";

  function start() {
    var open = document.createElement("button");
    open.type = "button";
    open.textContent = label;
    open.setAttribute("aria-expanded", "false");
    open.setAttribute("aria-controls", "sportello-chat-panel");
    open.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.75rem 1.25rem;" +
      "border:0;border-radius:2rem;background:#0066cc;color:#fff;font:600 1rem sans-serif;cursor:pointer;" +
      "box-shadow:0 2px 8px rgba(0,0,0,.3)";

    var panel = document.createElement("div");
    panel.id = "sportello-chat-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", label);
    panel.hidden = true;
    panel.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;z-index:2147483000;width:min(26rem,calc(100vw - 2rem));" +
      "height:min(40rem,calc(100vh - 6rem));background:#fff;border:1px solid #d4dbe3;border-radius:8px;" +
      "box-shadow:0 4px 16px rgba(0,0,0,.3);overflow:hidden;display:flex;flex-direction:column";

    var bar = document.createElement("div");
    bar.style.cssText = "display:flex;justify-content:space-between;align-items:center;padding:.25rem .5rem;background:#f5f7fa;font:.875rem sans-serif";
    // Browsers that block cookies in frames of another site still have the chat in a tab.
    var tab = document.createElement("a");
    tab.href = origin + "/chat";
    tab.target = "_blank";
    tab.rel = "noopener";
    tab.textContent = "Apri in una nuova finestra";
    tab.style.color = "#0066cc";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Chiudi";
    close.style.cssText = "border:0;background:none;color:#0066cc;font:600 .875rem sans-serif;cursor:pointer;text-decoration:underline";
    bar.appendChild(tab);
    bar.appendChild(close);
    panel.appendChild(bar);

    var frame = null;
    function toggle(show) {
      panel.hidden = !show;
      open.setAttribute("aria-expanded", String(show));
      if (show && !frame) {
        frame = document.createElement("iframe");
        frame.src = origin + "/chat";
        frame.title = label;
        frame.style.cssText = "border:0;flex:1;width:100%";
        panel.appendChild(frame);
      }
      if (show) frame.focus(); else open.focus();
    }
    open.addEventListener("click", function () { toggle(panel.hidden); });
    close.addEventListener("click", function () { toggle(false); });
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") toggle(false); });
    document.body.appendChild(panel);
    document.body.appendChild(open);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
