/*
 * Journey bot web chat widget. Embed with one tag:
 *   <script src="https://bot.example.com/widget.js" async></script>
 * Optional attributes: data-open="true" opens the chat at load;
 * data-language="he" forces the language (default: the browser's).
 * Every text is set with textContent (never innerHTML) and dir="auto",
 * so HTML from anyone is shown as text and RTL languages read right.
 * The protocol (messages with ids, replies acknowledged) is described in
 * handlers/web/socket.py.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var server = new URL(script.src).origin;
  var storageKey = "journeybot.visitor";
  var visitor = localStorage.getItem(storageKey);
  if (!visitor || !/^[A-Za-z0-9_-]{16,64}$/.test(visitor)) {
    visitor = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
    visitor = visitor.replace(/[^A-Za-z0-9_-]/g, "");
    localStorage.setItem(storageKey, visitor);
  }
  var language = script.dataset.language || navigator.language || "";
  var utmSource = new URLSearchParams(location.search).get("utm_source");

  var css =
    "#jb-root{position:fixed;bottom:16px;inset-inline-end:16px;z-index:2147483000;font:15px system-ui,sans-serif}" +
    "#jb-toggle{border:0;border-radius:24px;padding:12px 18px;background:#1f6feb;color:#fff;cursor:pointer}" +
    "#jb-panel{display:none;flex-direction:column;width:340px;max-width:calc(100vw - 32px);height:460px;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.2);overflow:hidden}" +
    "#jb-root.jb-open #jb-panel{display:flex}#jb-root.jb-open #jb-toggle{display:none}" +
    "#jb-log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}" +
    ".jb-msg{max-width:80%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".jb-bot{align-self:flex-start;background:#eef1f5}.jb-me{align-self:flex-end;background:#1f6feb;color:#fff}" +
    ".jb-note{align-self:center;color:#666;font-size:13px}" +
    ".jb-rep{align-self:flex-start;background:#fff4d6}.jb-author{align-self:flex-start;color:#666;font-size:12px;padding:0 4px;margin-bottom:-6px}" +
    ".jb-attachment{align-self:flex-start;color:#1f6feb}" +
    ".jb-buttons{display:flex;flex-wrap:wrap;gap:6px}.jb-buttons button{border:1px solid #1f6feb;background:#fff;color:#1f6feb;border-radius:14px;padding:4px 10px;cursor:pointer}" +
    "#jb-form{display:flex;border-top:1px solid #e3e6ea}#jb-input{flex:1;border:0;padding:12px;font:inherit}" +
    "#jb-send{border:0;background:none;color:#1f6feb;padding:0 14px;cursor:pointer;font:inherit}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var root = el("div", { id: "jb-root" });
  var toggle = el("button", { id: "jb-toggle", type: "button" }, "Chat");
  var panel = el("div", { id: "jb-panel", role: "dialog", "aria-label": "Chat" });
  var log = el("div", { id: "jb-log", "aria-live": "polite" });
  var form = el("form", { id: "jb-form" });
  var input = el("input", { id: "jb-input", dir: "auto", autocomplete: "off", maxlength: "4000", placeholder: "Type a message…" });
  var send = el("button", { id: "jb-send", type: "submit" }, "Send");
  form.append(input, send);
  panel.append(log, form);
  root.append(toggle, panel);
  document.body.appendChild(root);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function show(kind, text) {
    var bubble = el("div", { class: "jb-msg jb-" + kind, dir: "auto" });
    bubble.textContent = text;
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    return bubble;
  }

  function showButtons(buttons) {
    if (!buttons || !buttons.length) return;
    var row = el("div", { class: "jb-buttons" });
    buttons.forEach(function (b) {
      var button = el("button", { type: "button", dir: "auto" });
      button.textContent = b.title;
      button.addEventListener("click", function () { say(b.title, b.payload); });
      row.appendChild(button);
    });
    log.appendChild(row);
  }

  function showAttachment(attachment) {
    if (!attachment || !/^\/[A-Za-z0-9_\/.-]+$/.test(attachment.url)) return;
    var link = el("a", { class: "jb-attachment", href: server + attachment.url, download: attachment.filename, dir: "auto" });
    link.textContent = "\uD83D\uDCC5 " + attachment.title;
    log.appendChild(link);
  }

  // Nothing is lost either way. A message waits in the outbox (kept in
  // localStorage, so a reload keeps it) until the server says its turn is
  // "done"; it is sent again on every connect under the same id, and the
  // server answers it once. Every reply is acknowledged; one the server sends
  // again (its ack was lost) is recognised by its id and not shown twice.
  var socket = null;
  var retry = 500;
  var outboxKey = "journeybot.outbox." + visitor;
  var seenKey = "journeybot.seen." + visitor;
  var outbox = load(outboxKey, []);
  var seen = load(seenKey, []);

  function load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function keep(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function newId() {
    var id = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
    return id.replace(/[^A-Za-z0-9_-]/g, "");
  }
  function transmit(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function onReply(data) {
    transmit({ type: "ack", ids: [data.id] });
    if (seen.indexOf(data.id) !== -1) return;
    seen.push(data.id);
    keep(seenKey, seen.slice(-200));
    if (data.author) show("author", data.author);  // a person from the team is writing
    show(data.author ? "rep" : "bot", data.text);
    showAttachment(data.attachment);
    showButtons(data.buttons);
  }

  function onDone(data) {
    outbox = outbox.filter(function (m) { return m.id !== data.id; });
    keep(outboxKey, outbox);
  }

  function connect() {
    var url = new URL("/ws", server.replace(/^http/, "ws"));
    url.searchParams.set("visitor", visitor);
    if (language) url.searchParams.set("lang", language);
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 500;
      outbox.forEach(transmit);
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "reply") onReply(data);
      else if (data.type === "done") onDone(data);
      else if (data.type === "error") show("note", data.error);
    };
    socket.onclose = function () {
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  function say(shown, text) {
    show("me", shown);
    var frame = { type: "message", id: newId(), text: text, page: location.href, utm_source: utmSource };
    outbox.push(frame);
    keep(outboxKey, outbox);
    transmit(frame);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    say(text, text);
  });
  toggle.addEventListener("click", function () {
    root.classList.add("jb-open");
    input.focus();
  });
  if (script.dataset.open === "true") root.classList.add("jb-open");
  connect();
})();
