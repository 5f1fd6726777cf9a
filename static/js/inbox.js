// Concierge adviser inbox: a live list of conversations and the open thread.
// Everything visitors wrote is inserted with textContent, never as HTML.
(function () {
  "use strict";

  const root = document.querySelector("[data-testid=inbox]");
  if (!root) return;
  const catalog = JSON.parse(document.getElementById("i18n").textContent);
  const lang = document.documentElement.lang || "en";
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const $ = (id) => root.querySelector(`[data-testid=${id}]`);
  const listEl = $("conversation-list");
  const messagesEl = $("messages");
  const replyEl = $("reply-text");
  const liveEl = $("live-status");

  const state = {
    filter: "open",
    conversations: new Map(), // id -> conversation
    selected: null,
    messageIds: new Set(),
    lastEventId: null,
    socket: null,
    retry: 0,
  };

  function t(key, params) {
    let text = catalog[key] || key;
    for (const [name, value] of Object.entries(params || {})) {
      text = text.split(`{${name}}`).join(String(value));
    }
    return text;
  }

  const timeFmt = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  const dayFmt = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  function when(iso) {
    const d = new Date(iso);
    const today = new Date();
    return d.toDateString() === today.toDateString() ? timeFmt.format(d) : dayFmt.format(d);
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers["Accept"] = "application/json";
    if (opts.body) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
    }
    const response = await fetch(path, Object.assign({ credentials: "same-origin" }, opts));
    if (response.status === 401) {
      window.location.href = "/login";
      throw new Error("login required");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof data.detail === "string" ? data.detail : response.statusText;
      throw new Error(detail);
    }
    return data;
  }

  // ---- list ---------------------------------------------------------------
  const me = Number(root.dataset.userId);

  function visible(conversation) {
    if (state.filter === "mine") return conversation.assignee_id === me && conversation.status === "open";
    return state.filter === "all" || conversation.status === state.filter;
  }

  function contactLabel(c) {
    return c.contact_name || c.contact_handle || `${t("inbox.visitor")} #${c.id}`;
  }

  function renderList() {
    const items = [...state.conversations.values()]
      .filter(visible)
      .sort((a, b) => b.last_message_at.localeCompare(a.last_message_at));
    listEl.replaceChildren(
      ...items.map((c) => {
        const li = el(
          "li",
          {
            role: "option",
            "aria-selected": String(c.id === state.selected),
            dataset: { testid: "conversation-item", id: String(c.id), unread: String(c.unread) },
          },
          el("span", { class: "who" }, contactLabel(c)),
          el("span", { class: "when" }, when(c.last_message_at)),
          el("span", { class: "preview" }, c.preview),
          el(
            "span",
            { class: "tags" },
            el("span", { class: "tag" }, t(`inbox.channel.${c.channel}`)),
            el("span", { class: "tag" }, c.account_name),
            c.assignee_id === null && c.status === "open" ? el("span", { class: "tag", dataset: { testid: "queued" } }, t("inbox.queued")) : null,
            c.unread > 0 ? el("span", { class: "badge", dataset: { testid: "unread-badge" }, title: t("inbox.unread", { count: c.unread }) }, String(c.unread)) : null,
          ),
        );
        li.addEventListener("click", () => open(c.id));
        return li;
      }),
    );
    $("list-empty").hidden = items.length > 0;
    const unread = [...state.conversations.values()].filter((c) => c.unread > 0 && c.status === "open").length;
    document.title = (unread ? `(${unread}) ` : "") + t("inbox.title") + " · Concierge";
  }

  async function loadList() {
    const status = state.filter === "mine" ? "open" : state.filter;
    const rows = await api(`/api/conversations?status=${status}`);
    for (const c of rows) state.conversations.set(c.id, c);
    renderList();
  }

  // A conversation as it is now: kept if it is still ours to see, dropped if it moved away.
  function upsert(c) {
    const ours = root.dataset.officeId === "" || Number(root.dataset.officeId) === c.office_id || c.assignee_id === me;
    if (ours) {
      state.conversations.set(c.id, c);
      if (c.id === state.selected) renderHead(c);
    } else {
      state.conversations.delete(c.id);
      if (c.id === state.selected) {
        state.selected = null;
        root.classList.remove("has-thread");
        $("thread").hidden = true;
        $("thread-placeholder").hidden = false;
      }
    }
    renderList();
  }

  // X counts characters by weight: URLs 23, CJK and emoji 2, most other scripts 1.
  const URL_RE = /https?:\/\/\S+|(?<![@\w])(?:[a-z0-9-]+\.)+(?:com|org|net|fr|eu|de|es|nl|uk|io|co)(?:\/\S*)?/gi;
  function tweetLength(text) {
    let total = 0;
    const plain = text.normalize("NFC").replace(URL_RE, () => {
      total += 23;
      return "";
    });
    let afterJoiner = false;
    for (const char of plain) {
      const code = char.codePointAt(0);
      if (code === 0x200d) {
        afterJoiner = true;
        continue;
      }
      const mark = /\p{M}/u.test(char) || (code >= 0xfe00 && code <= 0xfe0f) || (code >= 0x1f3fb && code <= 0x1f3ff);
      const light = code <= 0x10ff || (code >= 0x2000 && code <= 0x200d) || (code >= 0x2010 && code <= 0x201f) || (code >= 0x2032 && code <= 0x2037);
      const weight = mark ? 0 : light ? 1 : 2;
      total += afterJoiner && weight === 2 ? 0 : weight;
      afterJoiner = false;
    }
    return total;
  }

  function updateCount() {
    const c = state.conversations.get(state.selected);
    const tools = $("x-tools");
    tools.hidden = !(c && c.channel === "twitter" && !c.direct);
    if (tools.hidden) return;
    const length = tweetLength(replyEl.value);
    const count = $("reply-count");
    count.textContent = `${length}/280`;
    count.classList.toggle("over", length > 280 && !$("reply-split").checked);
  }
  replyEl.addEventListener("input", updateCount);
  $("reply-split").addEventListener("change", updateCount);

  // ---- thread -------------------------------------------------------------
  function renderHead(c) {
    $("thread-title").textContent = contactLabel(c) + (c.subject ? ` — ${c.subject}` : "");
    const assignee = c.assignee_name ? t("inbox.assigned_to", { name: c.assignee_name }) : t("inbox.unassigned");
    $("thread-meta").textContent = [t(`inbox.channel.${c.channel}`), c.account_name, c.office_name, assignee, t(`inbox.status.${c.status}`)].join(" · ");
    const toggle = $("toggle-status");
    toggle.textContent = c.status === "open" ? t("inbox.resolve") : t("inbox.reopen");
    toggle.dataset.next = c.status === "open" ? "resolved" : "open";
    $("take").hidden = c.erased || !(c.assignee_id === null && c.status === "open");
    // An erased conversation stays for the figures only: read-only.
    for (const id of ["toggle-status", "transfer", "visitor-data", "erase-visitor", "composer"]) {
      if ($(id)) $(id).hidden = Boolean(c.erased);
    }
    updateCount();
  }

  function messageNode(m) {
    const cls = m.direction === "note" ? "note" : m.author_kind === "system" ? "system" : m.direction === "in" ? "in" : "out";
    let status = "";
    if (m.direction === "note") {
      status = t("inbox.note");
    } else if (m.direction === "out" && m.author_kind !== "system") {
      status = m.delivery_status === "failed" ? t("inbox.delivery.failed", { error: m.delivery_error }) : t(`inbox.delivery.${m.delivery_status}`);
    }
    const author = m.author_kind === "system" ? t("inbox.system") : m.author_name;
    const body = el("span", { class: "text" });
    if (m.quote_start) {
      // Quoted history and signatures are folded away, one click to unfold.
      body.append(m.text.slice(0, m.quote_start).trimEnd());
      body.append(el("details", { class: "quote" }, el("summary", { title: t("inbox.show_quote") }, "…"), m.text.slice(m.quote_start)));
    } else if (m.text === "" && !(m.attachments || []).length) {
      body.append(el("em", { class: "muted", dataset: { testid: "erased-message" } }, t("inbox.erased_message")));
    } else {
      body.append(m.text);
    }
    const files = (m.attachments || []).map((a) =>
      el(
        "li",
        {},
        a.available
          ? el("a", { href: `/api/attachments/${a.id}`, download: a.filename, dataset: { testid: "attachment" } }, `${a.filename} (${Math.ceil(a.size / 1024)} KB)`)
          : `${a.filename} — ${t("inbox.attachment_missing")}`,
      ),
    );
    return el(
      "li",
      { class: `msg ${cls}${m.delivery_status === "failed" ? " failed" : ""}`, dataset: { testid: "message", id: String(m.id), direction: m.direction } },
      body,
      files.length ? el("ul", { class: "files" }, ...files) : null,
      el("span", { class: "meta" }, [author, when(m.created_at), status].filter(Boolean).join(" · ")),
    );
  }

  function appendMessage(m) {
    if (state.messageIds.has(m.id)) return;
    state.messageIds.add(m.id);
    const nearBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 80;
    messagesEl.append(messageNode(m));
    if (nearBottom || m.direction === "out") messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  async function open(id) {
    state.selected = id;
    root.classList.add("has-thread");
    renderList();
    $("thread-placeholder").hidden = true;
    $("thread").hidden = false;
    $("reply-error").textContent = "";
    $("thread-notice").hidden = true;
    const exportLink = $("visitor-data");
    if (exportLink) exportLink.href = `/api/conversations/${id}/visitor-data`;
    const eraseForm = $("erase-form");
    if (eraseForm) eraseForm.hidden = true;
    const data = await api(`/api/conversations/${id}`);
    if (state.selected !== id) return;
    state.conversations.set(id, data.conversation);
    renderHead(data.conversation);
    state.messageIds = new Set();
    messagesEl.replaceChildren();
    data.messages.forEach(appendMessage);
    messagesEl.scrollTop = messagesEl.scrollHeight;
    renderList();
  }

  async function send() {
    const text = replyEl.value;
    if (!text.trim() || state.selected === null) {
      $("reply-error").textContent = t("error.empty_message");
      return;
    }
    const button = $("reply-send");
    button.disabled = true;
    try {
      const clientId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())).replace(/[^A-Za-z0-9_-]/g, "");
      const message = await api(`/api/conversations/${state.selected}/messages`, {
        method: "POST",
        body: JSON.stringify({ text, client_id: clientId, split_thread: $("reply-split").checked }),
      });
      appendMessage(message);
      replyEl.value = "";
      $("reply-split").checked = false;
      updateCount();
      $("reply-error").textContent = "";
    } catch (err) {
      $("reply-error").textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }

  async function toggleStatus() {
    if (state.selected === null) return;
    const next = $("toggle-status").dataset.next;
    upsert(await api(`/api/conversations/${state.selected}/status`, { method: "POST", body: JSON.stringify({ status: next }) }));
  }

  async function take() {
    if (state.selected === null) return;
    upsert(await api(`/api/conversations/${state.selected}/take`, { method: "POST", body: "{}" }));
  }

  async function openTransfer() {
    const form = $("transfer-form");
    const select = $("transfer-office");
    const offices = await api("/api/offices");
    const current = state.conversations.get(state.selected);
    select.replaceChildren(
      ...offices.filter((o) => !current || o.id !== current.office_id).map((o) => el("option", { value: String(o.id) }, o.name)),
    );
    form.hidden = false;
    select.focus();
  }

  async function submitTransfer(ev) {
    ev.preventDefault();
    const form = $("transfer-form");
    const body = { office_id: Number($("transfer-office").value), note: $("transfer-note").value };
    try {
      const c = await api(`/api/conversations/${state.selected}/transfer`, { method: "POST", body: JSON.stringify(body) });
      form.hidden = true;
      $("transfer-note").value = "";
      upsert(c);
    } catch (err) {
      $("reply-error").textContent = err.message;
    }
  }

  async function eraseVisitor(ev) {
    ev.preventDefault();
    const id = state.selected;
    if (id === null) return;
    try {
      const result = await api(`/api/conversations/${id}/erase-visitor`, { method: "POST", body: "{}" });
      $("erase-form").hidden = true;
      await open(id);
      const notice = $("thread-notice");
      notice.textContent = t("inbox.erased", { count: result.conversations });
      notice.hidden = false;
    } catch (err) {
      $("reply-error").textContent = err.message;
    }
  }

  // ---- live events --------------------------------------------------------
  function onEvent(frame) {
    if (frame.event_id) state.lastEventId = frame.event_id;
    switch (frame.type) {
      case "hello":
        state.lastEventId = state.lastEventId || frame.last_event_id;
        break;
      case "resync":
        state.conversations.clear();
        loadList();
        if (state.selected !== null) open(state.selected);
        break;
      case "conversation.changed":
        upsert(frame.conversation);
        break;
      case "message.created":
        if (frame.conversation_id === state.selected) {
          appendMessage(frame.message);
          if (frame.message.direction === "in" && document.visibilityState === "visible") {
            api(`/api/conversations/${state.selected}`).catch(() => {});
          }
        }
        break;
      case "message.status": {
        const node = messagesEl.querySelector(`[data-id="${frame.message_id}"]`);
        if (node && frame.conversation_id === state.selected) {
          api(`/api/conversations/${state.selected}`).then((data) => {
            const m = data.messages.find((x) => x.id === frame.message_id);
            if (m) node.replaceWith(messageNode(m));
          }).catch(() => {});
        }
        break;
      }
      default:
        break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const resume = state.lastEventId ? `?last_event_id=${encodeURIComponent(state.lastEventId)}` : "";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/adviser${resume}`);
    state.socket = socket;
    let first = !state.lastEventId;
    socket.addEventListener("message", (msg) => {
      const frame = JSON.parse(msg.data);
      onEvent(frame);
      if (frame.type === "hello") {
        liveEl.dataset.state = "live";
        liveEl.title = t("inbox.live");
        state.retry = 0;
        if (first) {
          first = false;
          loadList();
        }
      }
    });
    socket.addEventListener("close", (ev) => {
      liveEl.dataset.state = "offline";
      liveEl.title = t("inbox.offline");
      if (ev.code === 4401) {
        window.location.href = "/login";
        return;
      }
      state.retry = Math.min(state.retry + 1, 6);
      setTimeout(connect, 300 * 2 ** state.retry * (0.5 + Math.random()));
    });
  }
  setInterval(() => state.socket && state.socket.readyState === 1 && state.socket.send('{"type":"ping"}'), 25000);

  // ---- controls and keyboard ----------------------------------------------
  root.querySelectorAll("[data-filter]").forEach((button) => {
    button.addEventListener("click", () => {
      state.filter = button.dataset.filter;
      root.querySelectorAll("[data-filter]").forEach((b) => b.setAttribute("aria-selected", String(b === button)));
      loadList();
    });
  });
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    send();
  });
  $("toggle-status").addEventListener("click", toggleStatus);
  $("take").addEventListener("click", take);
  $("transfer").addEventListener("click", openTransfer);
  $("transfer-form").addEventListener("submit", submitTransfer);
  $("transfer-cancel").addEventListener("click", () => {
    $("transfer-form").hidden = true;
  });
  if ($("erase-visitor")) {
    $("erase-visitor").addEventListener("click", () => {
      $("erase-form").hidden = false;
      $("erase-confirm").focus();
    });
    $("erase-form").addEventListener("submit", eraseVisitor);
    $("erase-cancel").addEventListener("click", () => {
      $("erase-form").hidden = true;
    });
  }
  replyEl.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      send();
    } else if (ev.key === "Escape") {
      replyEl.blur();
    }
  });
  document.addEventListener("keydown", (ev) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const ids = [...listEl.querySelectorAll("li")].map((li) => Number(li.dataset.id));
    const index = ids.indexOf(state.selected);
    if (ev.key === "j" || ev.key === "ArrowDown") {
      const next = ids[Math.min(index + 1, ids.length - 1)];
      if (next !== undefined) open(next);
      ev.preventDefault();
    } else if (ev.key === "k" || ev.key === "ArrowUp") {
      const prev = ids[Math.max(index - 1, 0)];
      if (prev !== undefined) open(prev);
      ev.preventDefault();
    } else if (ev.key === "Enter" && state.selected === null && ids.length) {
      open(ids[0]);
    } else if (ev.key === "r" && state.selected !== null) {
      replyEl.focus();
      ev.preventDefault();
    } else if (ev.key === "e" && state.selected !== null) {
      toggleStatus();
    } else if (ev.key === "t" && state.selected !== null) {
      take();
    } else if (ev.key === "Escape") {
      root.classList.remove("has-thread");
    }
  });

  connect();
})();
