// Concierge visitor chat widget: the core (bubble, panel, socket). Embed with:
//   <script src="https://HOST/static/widget.js" data-account="ACCOUNT" async></script>
// /static/widget.js joins the files of static/widget/ into one function scope (app/web/
// widget_bundle.py): the parts first, each calling parts.push(function (api) {...}), then
// this file, which installs them with the `api` object below before it connects.
// No framework; everything lives in a shadow root so the host page's styles cannot break it
// and it cannot break the host page. Messages are inserted as text, never as HTML.
{
  const script = document.currentScript || document.querySelector("script[data-account][src*='widget.js']");
  if (!script || window.__conciergeWidget) return;
  window.__conciergeWidget = true;
  const account = script.dataset.account;
  const origin = new URL(script.src, location.href).origin;
  const wsOrigin = origin.replace(/^http/, "ws");
  const lang = script.dataset.lang || (navigator.language || "fr").slice(0, 2).toLowerCase();
  const storeKey = `concierge:${origin}:${account}`;

  const saved = (() => {
    try {
      return JSON.parse(localStorage.getItem(storeKey) || "{}");
    } catch (e) {
      return {};
    }
  })();
  const state = {
    token: saved.token || null,
    lang, // the language asked for; the hello frame says which one the server speaks
    open: saved.open || false,
    lastEventId: null,
    strings: {},
    socket: null,
    retry: 0,
    shown: new Set(), // message ids
    pending: new Map(), // client_id -> {text, node}
  };

  function persist() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({ token: state.token, open: state.open }));
    } catch (e) {
      /* private mode: the conversation lasts for this page only */
    }
  }

  function t(key, fallback) {
    return state.strings[`widget.${key}`] || fallback || "";
  }

  const host = document.createElement("div");
  host.setAttribute("data-concierge-widget", account);
  const shadow = host.attachShadow({ mode: "open" });
  shadow.innerHTML = `
    <style>
      :host { all: initial; }
      * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
      .bubble { position: fixed; right: 20px; bottom: 20px; width: 58px; height: 58px; border-radius: 50%;
        border: 0; background: #0b6e77; color: #fff; box-shadow: 0 6px 18px rgba(0,0,0,.22); cursor: pointer;
        display: grid; place-items: center; z-index: 2147483000; }
      .bubble svg { width: 28px; height: 28px; }
      .bubble:focus-visible, button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
      .panel { position: fixed; right: 20px; bottom: 90px; width: 360px; max-width: calc(100vw - 24px);
        height: 520px; max-height: calc(100vh - 110px); background: #fff; color: #1d2430; border-radius: 16px;
        box-shadow: 0 12px 40px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483000; }
      .panel[hidden] { display: none; }
      header { background: #0b6e77; color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }
      header h2 { font-size: 16px; margin: 0; flex: 1; }
      header p { margin: 2px 0 0; font-size: 12px; opacity: .9; }
      header button { background: none; border: 0; color: #fff; font-size: 22px; line-height: 1; cursor: pointer; padding: 4px 8px; }
      .privacy { font-size: 12px; color: #5f6b7a; background: #f5f6f8; padding: 6px 12px; margin: 0; }
      .privacy a { color: #0b6e77; }
      ol { list-style: none; margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; }
      li { max-width: 82%; padding: 8px 11px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 14px; line-height: 1.4; }
      li.visitor { align-self: flex-end; background: #0b6e77; color: #fff; border-bottom-right-radius: 4px; }
      li.adviser, li.system { align-self: flex-start; background: #eef1f5; border-bottom-left-radius: 4px; }
      li.pending { opacity: .6; }
      li .who { display: block; font-size: 11px; opacity: .75; margin-bottom: 2px; }
      .queue { margin: 0 12px; padding: 8px 10px; border-radius: 10px; background: #fff4d6; color: #4a3b00; font-size: 13px; line-height: 1.4; }
      .queue:empty { padding: 0; margin: 0; }
      .typing { font-size: 12px; color: #5f6b7a; padding: 2px 12px 0; min-height: 16px; font-style: italic; }
      .status { font-size: 12px; color: #5f6b7a; padding: 0 12px; min-height: 16px; }
      .status.error { color: #b3261e; }
      form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e2e6eb; }
      textarea { flex: 1; resize: none; font-size: 14px; padding: 8px 10px; border: 1px solid #cfd5dc; border-radius: 10px; height: 42px; max-height: 120px; }
      form button { background: #0b6e77; color: #fff; border: 0; border-radius: 10px; padding: 0 14px; font-weight: 600; cursor: pointer; }
      @media (max-width: 480px) { .panel { right: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100vh; max-height: 100vh; border-radius: 0; } }
    </style>
    <button class="bubble" part="bubble" data-testid="widget-bubble" aria-label="Chat" aria-expanded="false" aria-controls="concierge-panel">
      <svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>
    </button>
    <section class="panel" id="concierge-panel" role="dialog" aria-modal="false" aria-labelledby="concierge-title" hidden data-testid="widget-panel">
      <header>
        <div><h2 id="concierge-title" data-testid="widget-title"></h2><p data-testid="widget-answering"></p></div>
        <div class="tools" data-testid="widget-tools"></div>
        <button type="button" class="close" data-testid="widget-close">&times;</button>
      </header>
      <p class="privacy" data-testid="widget-privacy"><span></span> <a target="_blank" rel="noopener"></a></p>
      <ol data-testid="widget-messages" aria-live="polite"></ol>
      <p class="queue" data-testid="widget-queue" role="status"></p>
      <div class="typing" data-testid="widget-typing" role="status"></div>
      <div class="status" data-testid="widget-status" role="status"></div>
      <div class="above-form" data-testid="widget-above-form"></div>
      <form data-testid="widget-form">
        <div class="form-tools" data-testid="widget-form-tools"></div>
        <textarea maxlength="4000" rows="1" dir="auto" data-testid="widget-input"></textarea>
        <button type="submit" data-testid="widget-send"></button>
      </form>
    </section>`;

  const q = (id) => shadow.querySelector(`[data-testid=${id}]`);
  const bubble = q("widget-bubble");
  const panel = q("widget-panel");
  const list = q("widget-messages");
  const input = q("widget-input");
  const status = q("widget-status");
  const queueNote = q("widget-queue");
  const typingNote = q("widget-typing");

  function setStatus(text, isError) {
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
  }

  function fill(key, fallback, params) {
    return Object.entries(params || {}).reduce(
      (text, [name, value]) => text.split(`{${name}}`).join(String(value)),
      t(key, fallback),
    );
  }

  // The visitor's place in the office queue; position 0: not waiting (hidden).
  function showQueue(frame) {
    if (!frame.position) {
      queueNote.textContent = "";
      return;
    }
    const place =
      frame.position === 1
        ? t("queue.first", "You are next in the queue.")
        : fill("queue.position", "You are number {position} in the queue.", { position: frame.position });
    queueNote.textContent = [place, waitText(frame.estimate_seconds)].filter(Boolean).join(" ");
  }

  function waitText(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 90) return t("queue.wait_minute", "");
    if (seconds < 50 * 60) {
      const minutes = Math.round(seconds / 60);
      // Past ten minutes a promise to the minute would be false precision.
      return fill("queue.wait_minutes", "", { minutes: minutes > 10 ? Math.round(minutes / 5) * 5 : minutes });
    }
    return seconds < 90 * 60 ? t("queue.wait_hour", "") : t("queue.wait_long", "");
  }

  // "<adviser> is typing…", until they stop or 6 s pass without news.
  let typingHide = null;
  function showTyping(frame) {
    clearTimeout(typingHide);
    if (!frame.active) {
      typingNote.textContent = "";
      return;
    }
    typingNote.textContent = frame.name
      ? fill("typing", "{name}…", { name: frame.name })
      : t("typing_someone", "…");
    typingHide = setTimeout(() => (typingNote.textContent = ""), 6000);
  }

  // The visitor typing, told to the adviser: at most one frame per 2 s, "stopped" after 5 s
  // without a keystroke or when the message is sent.
  const typing = { sentAt: 0, idle: null };
  function sendFrame(frame) {
    if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(frame));
  }
  function noteTyping() {
    const now = Date.now();
    if (now - typing.sentAt >= 2000) {
      sendFrame({ type: "typing" });
      typing.sentAt = now;
    }
    clearTimeout(typing.idle);
    typing.idle = setTimeout(stopTyping, 5000);
  }
  function stopTyping() {
    clearTimeout(typing.idle);
    if (typing.sentAt) sendFrame({ type: "typing", active: false });
    typing.sentAt = 0;
  }

  function applyStrings(hello) {
    state.strings = hello.strings || {};
    bubble.setAttribute("aria-label", t("open", "Chat"));
    q("widget-close").setAttribute("aria-label", t("close", "Close"));
    q("widget-title").textContent = t("title", "Chat");
    q("widget-answering").textContent = hello.office
      ? t("answering", "").split("{office}").join(hello.office)
      : hello.next_answer || "";
    q("widget-privacy").querySelector("span").textContent = hello.privacy || "";
    const link = q("widget-privacy").querySelector("a");
    link.textContent = t("privacy_link", "Privacy");
    link.href = hello.privacy_url;
    input.placeholder = t("placeholder", "");
    input.setAttribute("aria-label", t("placeholder", "Message"));
    q("widget-send").textContent = t("send", "Send");
  }

  function addMessage(m) {
    if (state.shown.has(m.id)) return;
    state.shown.add(m.id);
    const pending = m.client_id && state.pending.get(m.client_id);
    if (pending) {
      pending.node.classList.remove("pending");
      pending.node.dataset.id = String(m.id);
      state.pending.delete(m.client_id);
      return;
    }
    const li = document.createElement("li");
    li.className = m.author;
    li.dataset.testid = "widget-message";
    li.dataset.author = m.author;
    li.dataset.id = String(m.id);
    // Each message lays out in its own direction (Arabic, Hebrew right to left); the name has
    // a direction of its own, so the message's is read from its text.
    li.dir = "auto";
    if (m.author === "adviser" && m.author_name) {
      const who = document.createElement("span");
      who.className = "who";
      who.dir = "auto";
      who.textContent = m.author_name;
      li.append(who);
    }
    li.append(document.createTextNode(m.text));
    if (m.author === "adviser") showTyping({ active: false });
    decorators.forEach((decorate) => decorate(li, m));
    list.append(li);
    list.scrollTop = list.scrollHeight;
  }

  function newClientId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function sendPending(clientId, text) {
    if (state.socket && state.socket.readyState === 1) {
      // The page the visitor writes from, for the adviser: its address without the query
      // string or fragment (which may hold a booking reference).
      const page = (location.origin + location.pathname).slice(0, 300);
      state.socket.send(JSON.stringify({ type: "message", client_id: clientId, text, page }));
    }
  }

  function submit() {
    const text = input.value;
    if (!text.trim()) {
      setStatus(t("error.empty"), true);
      return;
    }
    stopTyping();
    const clientId = newClientId();
    const li = document.createElement("li");
    li.className = "visitor pending";
    li.dataset.testid = "widget-message";
    li.dataset.author = "visitor";
    li.dir = "auto";
    li.textContent = text;
    list.append(li);
    list.scrollTop = list.scrollHeight;
    state.pending.set(clientId, { text, node: li });
    input.value = "";
    setStatus("");
    sendPending(clientId, text);
  }

  function onFrame(frame) {
    coreFrame(frame);
    (handlers[frame.type] || []).forEach((handle) => handle(frame));
  }

  function coreFrame(frame) {
    if (frame.event_id) state.lastEventId = frame.event_id;
    if (frame.type === "hello") {
      state.token = frame.token;
      if (frame.lang) state.lang = frame.lang;
      persist();
      applyStrings(frame);
      if (!state.lastEventId) state.lastEventId = frame.last_event_id;
      (frame.messages || []).forEach(addMessage);
      // After a resync the list was emptied: messages still unsent are shown again, last.
      state.pending.forEach((p) => {
        if (!p.node.isConnected) list.append(p.node);
      });
      if (!list.children.length) {
        addMessage({ id: "welcome", author: "system", text: t("welcome", "Hello!") });
      }
      setStatus("");
      // Messages typed while offline go now; the server stores each client_id once.
      state.pending.forEach((p, clientId) => sendPending(clientId, p.text));
    } else if (frame.type === "message") {
      addMessage(frame.message);
    } else if (frame.type === "ack") {
      const pending = state.pending.get(frame.client_id);
      if (pending) {
        pending.node.classList.remove("pending");
        pending.node.dataset.id = String(frame.message_id);
        state.shown.add(frame.message_id);
        state.pending.delete(frame.client_id);
      }
    } else if (frame.type === "error") {
      setStatus(frame.message, true);
      const pending = frame.client_id && state.pending.get(frame.client_id);
      // Refused for a while (rate) or not saved just now (unavailable): the same client_id
      // goes again, and the server stores it once.
      const retry = frame.code === "rate_limited" || frame.code === "unavailable";
      if (pending && !retry) {
        pending.node.remove();
        state.pending.delete(frame.client_id);
      } else if (pending) {
        setTimeout(() => sendPending(frame.client_id, pending.text), 5000);
      }
    } else if (frame.type === "typing") {
      showTyping(frame);
    } else if (frame.type === "queue") {
      showQueue(frame);
    } else if (frame.type === "resync") {
      state.lastEventId = null;
      state.shown.clear();
      list.replaceChildren();
      if (state.socket) state.socket.close();
    }
  }

  function connect() {
    const params = new URLSearchParams({ account, lang: state.lang });
    if (state.token) params.set("token", state.token);
    if (state.lastEventId) params.set("last_event_id", state.lastEventId);
    const socket = new WebSocket(`${wsOrigin}/ws/visitor?${params}`);
    state.socket = socket;
    socket.addEventListener("message", (ev) => onFrame(JSON.parse(ev.data)));
    socket.addEventListener("open", () => {
      state.retry = 0;
    });
    socket.addEventListener("close", (ev) => {
      if (ev.code === 4401 || ev.code === 4410) {
        // Token refused or expired: start a fresh conversation.
        state.token = null;
        state.lastEventId = null;
        persist();
      } else if (ev.code === 4404 || ev.code === 4403 || ev.code === 4451) {
        setStatus(ev.reason, true);
        return;
      }
      setStatus(t("reconnecting", "…"));
      state.retry = Math.min(state.retry + 1, 6);
      setTimeout(connect, 400 * 2 ** state.retry * (0.5 + Math.random()));
    });
  }

  function setOpen(open) {
    state.open = open;
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    persist();
    if (open) {
      input.focus();
      list.scrollTop = list.scrollHeight;
    }
  }

  bubble.addEventListener("click", () => setOpen(panel.hidden));
  q("widget-close").addEventListener("click", () => {
    setOpen(false);
    bubble.focus();
  });
  panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      setOpen(false);
      bubble.focus();
    }
  });
  q("widget-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit();
  });
  input.addEventListener("input", () => (input.value.trim() ? noteTyping() : stopTyping()));
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      submit();
    }
  });
  setInterval(() => state.socket && state.socket.readyState === 1 && state.socket.send('{"type":"ping"}'), 25000);

  // ---- The parts' interface (static/widget/*.js). A part gets `api` once, before the first
  // connection; it may add a style, put controls in the slots, hear frames and decorate messages.
  const handlers = {}; // frame type -> [handler(frame)]
  const decorators = []; // (li, message) for every message shown
  const styleNode = shadow.querySelector("style");
  const api = {
    account,
    origin, // the helpdesk's origin, where /api/visitor/... lives
    shadow,
    panel,
    list,
    input,
    form: q("widget-form"),
    slots: { header: q("widget-tools"), aboveForm: q("widget-above-form"), formTools: q("widget-form-tools") },
    lang: () => state.lang,
    token: () => state.token,
    t,
    fill,
    setStatus,
    isOpen: () => !panel.hidden,
    on(type, handler) {
      (handlers[type] = handlers[type] || []).push(handler);
    },
    decorate(handler) {
      decorators.push(handler);
    },
    style(css) {
      styleNode.append(document.createTextNode(css));
    },
    send: sendFrame,
    // A system line in the conversation (not stored; gone after a reload).
    say(text, testid) {
      const li = document.createElement("li");
      li.className = "system";
      li.dataset.testid = testid || "widget-note";
      li.dir = "auto";
      li.textContent = text;
      list.append(li);
      list.scrollTop = list.scrollHeight;
      return li;
    },
    // A request to the helpdesk as this visitor: the token in a header, never in the URL.
    fetch(path, options) {
      const opts = Object.assign({}, options || {});
      opts.headers = Object.assign({}, opts.headers || {}, { Authorization: `Bearer ${state.token || ""}` });
      const sep = path.includes("?") ? "&" : "?";
      return fetch(`${origin}${path}${sep}lang=${encodeURIComponent(state.lang)}`, opts);
    },
  };
  parts.forEach((install) => {
    try {
      install(api);
    } catch (e) {
      /* one part failing leaves the chat working */
    }
  });

  function start() {
    document.body.append(host);
    setStatus(t("connecting", "…"));
    connect();
    if (state.open) setOpen(true);
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
}
