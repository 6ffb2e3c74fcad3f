/*
 * Journey bot web chat widget. Embed with one tag:
 *   <script src="https://bot.example.com/widget.js" async></script>
 * Optional attributes: data-open="true" opens the chat at load;
 * data-language="he" forces the language (default: the browser's);
 * data-color="#0a7d4f" is the theme colour; data-position="start" puts it
 * at the start corner (left in English, right in Hebrew) instead of the end.
 * Its own words come from the server (/widget/config, the content catalog)
 * in the visitor's language, and the panel is laid out right to left for
 * Hebrew, Arabic and Persian. The header says whose chat it is and who
 * answers: the assistant, the person from the team who joined, or
 * "reconnecting".
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
    "#jb-root{--jb-color:#1f6feb;position:fixed;bottom:16px;inset-inline-end:16px;z-index:2147483000;font:15px system-ui,sans-serif}" +
    "#jb-root.jb-start{inset-inline-end:auto;inset-inline-start:16px}" +
    "#jb-toggle{border:0;border-radius:24px;padding:12px 18px;background:var(--jb-color);color:#fff;cursor:pointer}" +
    "#jb-panel{display:none;flex-direction:column;width:340px;max-width:calc(100vw - 32px);height:460px;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.2);overflow:hidden}" +
    "#jb-root.jb-open #jb-panel{display:flex}#jb-root.jb-open #jb-toggle{display:none}" +
    "#jb-head{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--jb-color);color:#fff}" +
    "#jb-head div{flex:1;min-width:0}#jb-title{font-weight:600}#jb-state{font-size:12px;opacity:.9}" +
    "#jb-close{border:0;background:none;color:#fff;font-size:20px;cursor:pointer;line-height:1}" +
    ".jb-typing{align-self:flex-start;color:#666;font-size:13px;font-style:italic}" +
    "@media (max-width:480px){#jb-root.jb-open{inset:0}#jb-root.jb-open #jb-panel{width:100vw;max-width:none;height:100%;border-radius:0}}" +
    "#jb-log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}" +
    ".jb-msg{max-width:80%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".jb-bot{align-self:flex-start;background:#eef1f5}.jb-me{align-self:flex-end;background:var(--jb-color);color:#fff}" +
    ".jb-note{align-self:center;color:#666;font-size:13px}" +
    ".jb-rep{align-self:flex-start;background:#fff4d6}.jb-author{align-self:flex-start;color:#666;font-size:12px;padding:0 4px;margin-bottom:-6px}" +
    ".jb-attachment{align-self:flex-start;color:var(--jb-color)}" +
    ".jb-buttons{display:flex;flex-wrap:wrap;gap:6px}.jb-buttons button{border:1px solid var(--jb-color);background:#fff;color:var(--jb-color);border-radius:14px;padding:4px 10px;cursor:pointer}" +
    "#jb-form{display:flex;border-top:1px solid #e3e6ea}#jb-input{flex:1;border:0;padding:12px;font:inherit}" +
    "#jb-send{border:0;background:none;color:var(--jb-color);padding:0 14px;cursor:pointer;font:inherit}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var root = el("div", { id: "jb-root" });
  var toggle = el("button", { id: "jb-toggle", type: "button" }, "Chat");
  var panel = el("div", { id: "jb-panel", role: "dialog", "aria-label": "Chat" });
  var head = el("div", { id: "jb-head" });
  var heading = el("div");
  var title = el("div", { id: "jb-title", dir: "auto" });
  var state = el("div", { id: "jb-state", dir: "auto", "aria-live": "polite" });
  var close = el("button", { id: "jb-close", type: "button" }, "\u00D7");
  heading.append(title, state);
  head.append(heading, close);
  var log = el("div", { id: "jb-log", "aria-live": "polite", "aria-busy": "true" });
  var form = el("form", { id: "jb-form" });
  var input = el("input", { id: "jb-input", dir: "auto", autocomplete: "off", maxlength: "4000", placeholder: "Type a message…" });
  var send = el("button", { id: "jb-send", type: "submit" }, "Send");
  form.append(input, send);
  panel.append(head, log, form);
  root.append(toggle, panel);
  if (/^#[0-9A-Fa-f]{3,8}$/.test(script.dataset.color || "")) root.style.setProperty("--jb-color", script.dataset.color);
  if (script.dataset.position === "start") root.classList.add("jb-start");
  // A script tag in the page's <head> runs before there is a body to join.
  if (document.body) document.body.appendChild(root);
  else document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(root); });

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

  // The words of the widget, in the visitor's language, from the server.
  var words = { open: "Chat", title: "Chat", placeholder: "", send: "Send", close: "Close",
                assistant: "", with_rep: "{rep}", reconnecting: "Reconnecting…", typing: "…",
                busy: "…" };
  var rep = null;  // the person from the team who has the chat, if one has it
  var online = false;
  var config = null;
  function applyWords(loaded) {
    config = loaded;
    words = config.texts;
    root.setAttribute("dir", config.dir);
    root.setAttribute("lang", config.language);
    toggle.textContent = words.open;
    title.textContent = words.title;
    panel.setAttribute("aria-label", words.title);
    input.setAttribute("placeholder", words.placeholder);
    send.textContent = words.send;
    close.setAttribute("aria-label", words.close);
    showState();
  }
  function loadWords(lang) {
    var url = new URL("/widget/config", server);
    if (lang) url.searchParams.set("language", lang);
    return fetch(url).then(function (r) { return r.json(); }).then(applyWords, function () {});
  }
  function showState() {
    if (!online) state.textContent = words.reconnecting;
    else if (rep) state.textContent = words.with_rep.replace("{rep}", rep);
    else state.textContent = words.assistant;
  }

  // The server is queueing our turn (a rush): say so where "typing" is shown;
  // the answer follows, and replaces it.
  function onBusy() {
    showTyping(true);
    typing.textContent = words.busy;
    typing.removeAttribute("aria-hidden");
    typing.setAttribute("role", "status");
  }

  var typing = null;
  function showTyping(on) {
    if (on && !typing) {
      typing = el("div", { class: "jb-typing", "aria-hidden": "true" }, words.typing);
      log.appendChild(typing);
      log.scrollTop = log.scrollHeight;
    } else if (!on && typing) {
      typing.remove();
      typing = null;
    }
  }

  // Who says a message sets who has the chat: a person's name, or the bot.
  function showMessage(data, withButtons) {
    if (data.author === "prospect") { show("me", data.text); return; }
    rep = data.author && data.author !== "bot" ? data.author : null;
    if (rep) show("author", rep);
    show(rep ? "rep" : "bot", data.text);
    showAttachment(data.attachment);
    if (withButtons) showButtons(data.buttons);
    showState();
  }

  // A new visitor is greeted when the panel opens; the greeting is stored with
  // their first answer ("greeted"), never on its own.
  var historyShown = false, isNew = false, greeted = null;
  function greet() {
    if (!isNew || greeted || !config || !root.classList.contains("jb-open")) return;
    greeted = config.language;
    showMessage({ author: "bot", text: config.greeting.text, buttons: config.greeting.buttons }, true);
  }

  function onHistory(data) {
    if (historyShown) return;  // a reconnect: the screen has it already
    historyShown = true;
    log.setAttribute("aria-busy", "false");  // the conversation so far is on the screen
    isNew = !data.messages.length && !outbox.length;
    greet();
    data.messages.forEach(function (m, n) {
      if (m.author !== "prospect") seen.push(m.id);
      showMessage(m, n === data.messages.length - 1);
    });
    rep = data.rep;
    outbox.forEach(function (m) { show("me", m.shown); });  // still on their way
    if (outbox.length) showTyping(true);
    showState();
  }

  function onReply(data) {
    transmit({ type: "ack", ids: [data.id] });
    if (seen.indexOf(data.id) !== -1) return;
    seen.push(data.id);
    keep(seenKey, seen.slice(-200));
    showTyping(false);
    showMessage({ author: data.author || "bot", text: data.text, attachment: data.attachment,
                  buttons: data.buttons }, true);
  }

  function onDone(data) {
    outbox = outbox.filter(function (m) { return m.id !== data.id; });
    keep(outboxKey, outbox);
    if (!outbox.length) showTyping(false);
    if (data.language && data.language !== root.getAttribute("lang")) loadWords(data.language);
  }

  function connect() {
    var url = new URL("/ws", server.replace(/^http/, "ws"));
    url.searchParams.set("visitor", visitor);
    if (language) url.searchParams.set("lang", language);
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 500;
      online = true;
      showState();
      outbox.forEach(transmit);
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "history") onHistory(data);
      else if (data.type === "reply") onReply(data);
      else if (data.type === "done") onDone(data);
      else if (data.type === "busy") onBusy();
      else if (data.type === "error") { showTyping(false); show("note", data.error); }
    };
    socket.onclose = function () {
      online = false;
      showState();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  function say(shown, text) {
    show("me", shown);
    var frame = { type: "message", id: newId(), text: text, shown: shown, page: location.href,
                  utm_source: utmSource };
    if (greeted && isNew) frame.greeted = greeted;
    isNew = false;
    outbox.push(frame);
    keep(outboxKey, outbox);
    transmit(frame);
    showTyping(true);
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
    greet();
  });
  close.addEventListener("click", function () {
    root.classList.remove("jb-open");
    toggle.focus();
  });
  if (script.dataset.open === "true") root.classList.add("jb-open");
  showState();
  loadWords(language).then(connect);
})();
