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
  const LANGUAGES = ["fr", "en", "de", "nl", "es", "it"];
  // The browser's first language the widget speaks; "" lets the server pick the destination's
  // default (a Japanese browser gets it, not English by accident).
  function browserLanguage() {
    for (const tag of navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]) {
      const primary = String(tag || "").slice(0, 2).toLowerCase();
      if (LANGUAGES.includes(primary)) return primary;
    }
    return "";
  }
  const storeKey = `concierge:${origin}:${account}`;

  const saved = (() => {
    try {
      return JSON.parse(localStorage.getItem(storeKey) || "{}");
    } catch (e) {
      return {};
    }
  })();
  const chosen = LANGUAGES.includes(saved.lang) ? saved.lang : ""; // picked in the widget's menu
  const state = {
    token: saved.token || null,
    // The language asked for; the hello frame says which one the server speaks.
    lang: chosen || (LANGUAGES.includes(script.dataset.lang) ? script.dataset.lang : "") || browserLanguage(),
    chosen,
    switching: false,
    look: {},
    extra: saved.parts && typeof saved.parts === "object" ? saved.parts : {}, // the parts' memory
    open: saved.open || false,
    lastEventId: null,
    strings: {},
    socket: null,
    retry: 0,
    shown: new Set(), // message ids
    pending: new Map(), // client_id -> {text, node, extra, held}, in the order written
    retrying: new Set(), // client_ids refused for a while, to be sent again
    holding: null, // timer while a refused message waits: the ones after it wait with it
  };

  function persist() {
    try {
      const kept = { token: state.token, open: state.open, lang: state.chosen, parts: state.extra };
      localStorage.setItem(storeKey, JSON.stringify(kept));
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
      :host { all: initial; --cc-accent: #0b6e77; --cc-on-accent: #fff; --cc-link: #0b6e77; }
      * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
      .bubble { position: fixed; right: 20px; bottom: 20px; width: 58px; height: 58px; border-radius: 50%;
        border: 0; background: var(--cc-accent); color: var(--cc-on-accent); box-shadow: 0 6px 18px rgba(0,0,0,.22); cursor: pointer;
        display: grid; place-items: center; z-index: 2147483000; }
      .bubble svg { width: 28px; height: 28px; }
      .bubble:focus-visible, button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
      .panel { position: fixed; right: 20px; bottom: 90px; width: 360px; max-width: calc(100vw - 24px);
        height: 520px; max-height: calc(100vh - 110px); background: #fff; color: #1d2430; border-radius: 16px;
        box-shadow: 0 12px 40px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483000; }
      .panel[hidden] { display: none; }
      :host([data-position=left]) .bubble, :host([data-position=left]) .panel { right: auto; left: 20px; }
      header { background: var(--cc-accent); color: var(--cc-on-accent); padding: 10px 12px 8px; }
      header .top, header .controls { display: flex; align-items: center; gap: 8px; }
      header .controls { justify-content: flex-end; gap: 4px; margin-top: 4px; }
      header .heading { flex: 1 1 auto; min-width: 0; }
      header .tools { display: flex; align-items: center; gap: 4px; }
      header h2 { font-size: 16px; margin: 0; overflow-wrap: anywhere; }
      header p { margin: 2px 0 0; font-size: 12px; opacity: .9; }
      header button { background: none; border: 0; color: inherit; font-size: 22px; line-height: 1; cursor: pointer; padding: 4px 8px; min-height: 36px; min-width: 36px; }
      header .logo { width: 36px; height: 36px; border-radius: 8px; object-fit: contain; background: #fff; flex: none; }
      header .logo[hidden] { display: none; }
      header select { font: inherit; font-size: 13px; color: inherit; background: transparent; border: 1px solid currentColor; border-radius: 8px; padding: 4px 2px; min-height: 32px; max-width: 7.5em; cursor: pointer; }
      header select option { color: #1d2430; background: #fff; }
      header select:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
      .privacy { font-size: 12px; color: #5f6b7a; background: #f5f6f8; padding: 6px 12px; margin: 0; }
      .privacy a { color: var(--cc-link); }
      ol { list-style: none; margin: 0; padding: 12px; flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: 8px; }
      li { max-width: 82%; padding: 8px 11px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 14px; line-height: 1.4; }
      li.visitor { align-self: flex-end; background: var(--cc-accent); color: var(--cc-on-accent); border-bottom-right-radius: 4px; }
      li[data-time]::after { content: attr(data-time); display: block; font-size: 11px; opacity: .75; margin-top: 3px; text-align: end; white-space: nowrap; }
      li.welcome { max-width: 100%; align-self: stretch; background: #f5f6f8; }
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
      form button { background: var(--cc-accent); color: var(--cc-on-accent); border: 0; border-radius: 10px; padding: 0 14px; font-weight: 600; cursor: pointer; }
      form :disabled { opacity: 0.5; cursor: not-allowed; }
      @media (max-width: 480px) {
        .panel, :host([data-position=left]) .panel { right: 0; left: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100vh; height: 100dvh; max-height: none; border-radius: 0; }
      }
    </style>
    <button class="bubble" part="bubble" data-testid="widget-bubble" aria-label="Chat" aria-expanded="false" aria-controls="concierge-panel">
      <svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>
    </button>
    <section class="panel" id="concierge-panel" role="dialog" aria-modal="false" aria-labelledby="concierge-title" hidden data-testid="widget-panel">
      <header>
        <div class="top">
          <img class="logo" alt="" data-testid="widget-logo" hidden>
          <div class="heading"><h2 id="concierge-title" data-testid="widget-title"></h2><p data-testid="widget-answering"></p></div>
          <button type="button" class="close" data-testid="widget-close">&times;</button>
        </div>
        <div class="controls">
          <select data-testid="widget-lang"></select>
          <div class="tools" data-testid="widget-tools"></div>
        </div>
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
  const logo = q("widget-logo");
  const langMenu = q("widget-lang");
  // The greeting: always the first line of the conversation, before and after a reload.
  const welcome = document.createElement("li");
  welcome.className = "system welcome";
  welcome.dataset.testid = "widget-welcome";
  welcome.dir = "auto";
  list.append(welcome);

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

  // The office's look (app/widget_look.py): colours as custom properties of the shadow root,
  // the side of the page, the logo. Colours are checked again here: only #rrggbb gets in.
  const COLOR = /^#[0-9a-fA-F]{6}$/;
  function applyLook(look) {
    state.look = look || {};
    const colors = { "--cc-accent": look.color, "--cc-on-accent": look.text_color, "--cc-link": look.link_color };
    Object.entries(colors).forEach(([name, value]) => {
      if (COLOR.test(value || "")) host.style.setProperty(name, value);
      else host.style.removeProperty(name);
    });
    host.dataset.position = look.position === "bottom-left" ? "left" : "right";
    // The logo's path on the helpdesk (never another host's address).
    const path = typeof look.logo === "string" && /^\/[^/\\]/.test(look.logo) ? look.logo : "";
    const src = path ? `${origin}${path}` : "";
    if (src && logo.getAttribute("src") !== src) logo.src = src;
    logo.hidden = !src;
  }

  // The language menu: each language in its own name; the choice is kept and the socket
  // reconnects in it, so every string changes at once and the messages stay.
  function fillLanguages(languages) {
    if (!langMenu.options.length) {
      (languages || LANGUAGES.map((code) => ({ code, name: code.toUpperCase() }))).forEach(({ code, name }) => {
        const option = document.createElement("option");
        option.value = code;
        option.lang = code;
        option.textContent = name;
        langMenu.append(option);
      });
    }
    langMenu.value = state.lang;
    langMenu.setAttribute("aria-label", t("language", "Language"));
    langMenu.title = t("language", "Language");
  }
  langMenu.addEventListener("change", () => switchLanguage(langMenu.value));

  function switchLanguage(code) {
    if (!LANGUAGES.includes(code) || code === state.lang) return;
    state.lang = code;
    state.chosen = code;
    persist();
    if (state.socket && state.socket.readyState <= 1) {
      state.switching = true;
      state.socket.close();
    } else {
      connect();
    }
  }

  // A message's time, in the visitor's own time zone and the widget's language.
  function timeText(iso) {
    const at = new Date(iso);
    if (!iso || Number.isNaN(at.getTime())) return "";
    const today = at.toDateString() === new Date().toDateString();
    const options = today
      ? { hour: "2-digit", minute: "2-digit" }
      : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    try {
      return new Intl.DateTimeFormat(state.lang || undefined, options).format(at);
    } catch (e) {
      return at.toLocaleTimeString();
    }
  }
  function stamp(li, iso) {
    li.dataset.created = iso;
    li.dataset.time = timeText(iso);
  }

  function applyStrings(hello) {
    state.strings = hello.strings || {};
    const look = hello.look || {};
    applyLook(look);
    fillLanguages(look.languages);
    bubble.setAttribute("aria-label", t("open", "Chat"));
    q("widget-close").setAttribute("aria-label", t("close", "Close"));
    q("widget-title").textContent = look.title || t("title", "Chat");
    welcome.textContent = look.greeting || t("welcome", "Hello!");
    list.querySelectorAll("li[data-created]").forEach((li) => stamp(li, li.dataset.created));
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
      if (m.created_at) stamp(pending.node, m.created_at);
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
    if (m.created_at) stamp(li, m.created_at);
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

  function sendPending(clientId, text, extra) {
    if (state.socket && state.socket.readyState === 1) {
      // The page the visitor writes from, for the adviser: its address without the query
      // string or fragment (which may hold a booking reference).
      const page = (location.origin + location.pathname).slice(0, 300);
      state.socket.send(JSON.stringify({ ...(extra || {}), type: "message", client_id: clientId, text, page }));
    }
  }

  function submit() {
    const text = input.value;
    if (!text.trim()) {
      setStatus(t("error.empty"), true);
      return;
    }
    // A part may hold the message back (a question to answer first) or add to its frame.
    const extra = {};
    if (!senders.every((check) => check(extra, text) !== false)) return;
    stopTyping();
    const clientId = newClientId();
    const li = document.createElement("li");
    li.className = "visitor pending";
    li.dataset.testid = "widget-message";
    li.dataset.author = "visitor";
    li.dir = "auto";
    li.textContent = text;
    stamp(li, new Date().toISOString());
    list.append(li);
    list.scrollTop = list.scrollHeight;
    // Written while an earlier message waits to be sent again: it goes after it, not before.
    const held = Boolean(state.holding);
    state.pending.set(clientId, { text, node: li, extra, held });
    input.value = "";
    if (!held) {
      setStatus("");
      sendPending(clientId, text, extra);
    }
  }

  // A message refused for a while holds the ones written after it (the server refuses them
  // too until it comes back): once its time has passed, all go again, in the order written.
  function holdBack(seconds) {
    if (!state.holding) state.holding = setTimeout(sendHeld, seconds * 1000);
  }
  function sendHeld() {
    clearTimeout(state.holding);
    state.holding = null;
    state.pending.forEach((p, clientId) => {
      if (!p.held) return;
      p.held = false;
      sendPending(clientId, p.text, p.extra);
    });
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
      if (list.firstChild !== welcome) list.prepend(welcome);
      setStatus("");
      // Messages typed while offline (or held) go now, in order; each client_id is stored once.
      state.pending.forEach((p) => (p.held = true));
      sendHeld();
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
      // The last message sent again is stored: its "sent again in a moment" notice goes.
      if (state.retrying.delete(frame.client_id) && !state.retrying.size) setStatus("");
    } else if (frame.type === "error") {
      setStatus(frame.message, true);
      const pending = frame.client_id && state.pending.get(frame.client_id);
      // Refused for a while (rate), not saved just now (unavailable) or the server is behind
      // (busy, with the seconds to wait): the same client_id goes again, stored once.
      const retry = ["rate_limited", "unavailable", "busy"].includes(frame.code);
      if (pending && !retry) {
        pending.node.remove();
        state.pending.delete(frame.client_id);
      } else if (pending) {
        state.retrying.add(frame.client_id);
        pending.held = true;
        holdBack(Math.min(Math.max(Number(frame.retry_after) || 5, 1), 60));
      }
    } else if (frame.type === "typing") {
      showTyping(frame);
    } else if (frame.type === "queue") {
      showQueue(frame);
    } else if (frame.type === "resync") {
      state.lastEventId = null;
      state.shown.clear();
      list.replaceChildren(welcome);
      if (state.socket) state.socket.close();
    }
  }

  function connect() {
    const params = new URLSearchParams({ account, batch: "1" }); // events together: an array
    if (state.lang) params.set("lang", state.lang);
    if (state.token) params.set("token", state.token);
    if (state.lastEventId) params.set("last_event_id", state.lastEventId);
    const socket = new WebSocket(`${wsOrigin}/ws/visitor?${params}`);
    state.socket = socket;
    socket.addEventListener("message", (ev) => {
      const data = JSON.parse(ev.data);
      for (const frame of Array.isArray(data) ? data : [data]) onFrame(frame);
    });
    socket.addEventListener("open", () => {
      state.retry = 0;
    });
    socket.addEventListener("close", (ev) => {
      if (socket !== state.socket) return; // an older socket, replaced already
      if (state.switching) {
        // Closed to speak another language: back at once, resuming where it was.
        state.switching = false;
        connect();
        return;
      }
      if (ev.code === 4401 || ev.code === 4410) {
        // Token refused or expired: start a fresh conversation.
        state.token = null;
        state.lastEventId = null;
        persist();
      } else if (ev.code === 4404 || ev.code === 4403 || ev.code === 4451) {
        // For good: 4404 on an open chat says its widget was disabled (in the visitor's
        // language). Nothing more can be sent, and no queue place stays on show.
        setStatus(ev.code === 4404 ? t("closed", ev.reason) : ev.reason, true);
        queueNote.textContent = "";
        typingNote.textContent = "";
        q("widget-form").querySelectorAll("textarea, button").forEach((el) => (el.disabled = true));
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
    toggles.forEach((handle) => handle(open));
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
  const senders = []; // (extra, text) before a new message goes: false holds it back
  const toggles = []; // (open) when the panel opens or closes
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
    bubble,
    lang: () => state.lang,
    look: () => state.look, // hello.look: colours, texts, what to ask (app/widget_look.py)
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
    // Before a new message is sent: return false to hold it back, or add fields to `extra`
    // (sent with the message frame, and again if it has to be resent).
    beforeSend(handler) {
      senders.push(handler);
    },
    onToggle(handler) {
      toggles.push(handler);
    },
    // A part's small memory, kept with the token in localStorage (JSON values).
    remember(key, value) {
      state.extra[key] = value;
      persist();
    },
    recall(key) {
      return state.extra[key];
    },
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
      const lang = state.lang ? `${sep}lang=${encodeURIComponent(state.lang)}` : "";
      return fetch(`${origin}${path}${lang}`, opts);
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
