// The composer: one draft per conversation (kept in the browser across reloads, cleared once
// sent), reply or internal note with @mentions, the X length and thread option, and a check
// before answering in a colleague's conversation.
import { $, ApiError, api, el, emit, me, on, replyAddress, state, t } from "./core.js";
import { request } from "./socket.js";
import { appendMessage } from "./thread.js";
import { tweetLength } from "./tweet.js";

const form = $("composer");
const replyEl = $("reply-text");
const split = $("reply-split");
const mentionList = $("mention-list");
const DRAFTS = `concierge.drafts.${me.id}`;
let confirmedFor = null; // the conversation whose colleague's assignment the adviser accepted

function drafts() {
  try {
    return JSON.parse(localStorage.getItem(DRAFTS) || "{}");
  } catch (err) {
    return {};
  }
}

function saveDraft(id) {
  if (id === null || id === undefined) return;
  const all = drafts();
  const mode = form.dataset.mode;
  if (replyEl.value || mode === "note" || split.checked) {
    all[id] = { text: replyEl.value, mode, split: split.checked, at: Date.now() };
  } else {
    delete all[id];
  }
  // Old drafts go after two weeks so the store never grows without end.
  const limit = Date.now() - 14 * 86400_000;
  for (const [key, draft] of Object.entries(all)) if (!draft.at || draft.at < limit) delete all[key];
  try {
    localStorage.setItem(DRAFTS, JSON.stringify(all));
  } catch (err) {
    /* storage full or disabled: the draft lives as long as the page */
  }
}

function clearDraft(id) {
  const all = drafts();
  delete all[id];
  localStorage.setItem(DRAFTS, JSON.stringify(all));
}

function setMode(mode) {
  form.dataset.mode = mode;
  for (const button of form.querySelectorAll(".composer-modes [data-mode]")) {
    button.setAttribute("aria-selected", String(button.dataset.mode === mode));
  }
  $("reply-send").textContent = mode === "note" ? t("inbox.add_note") : t("inbox.send");
  replyEl.placeholder = mode === "note" ? t("inbox.note_placeholder") : t("inbox.reply_placeholder");
  document.querySelector("label[for=reply-text]").textContent = mode === "note" ? t("inbox.note_label_field") : t("inbox.reply_label");
  hideMentions();
  updateCount();
}

function loadDraft(id) {
  const draft = drafts()[id] || {};
  replyEl.value = draft.text || "";
  split.checked = Boolean(draft.split);
  setMode(draft.mode === "note" ? "note" : "reply");
  $("reply-error").textContent = "";
  $("confirm-bar").hidden = true;
}

export function updateCount() {
  const c = state.conversations.get(state.selected);
  const tools = $("x-tools");
  tools.hidden = !(c && c.channel === "twitter" && !c.direct) || form.dataset.mode === "note";
  const to = $("reply-to");
  to.textContent = c && form.dataset.mode === "reply" && replyAddress(c) ? t("inbox.reply_to", { to: replyAddress(c) }) : form.dataset.mode === "note" ? t("inbox.note_hint") : "";
  if (tools.hidden) return;
  const length = tweetLength(replyEl.value);
  const count = $("reply-count");
  count.textContent = `${length}/280`;
  count.classList.toggle("over", length > 280 && !split.checked);
}

// What cannot be sent is said at once, before a request.
function refusal(c, text) {
  if (!text.trim()) return t("error.empty_message");
  if (form.dataset.mode === "reply" && c.channel === "twitter" && !c.direct && tweetLength(text) > 280 && !split.checked) {
    return t("inbox.error.tweet_too_long", { count: tweetLength(text) });
  }
  return "";
}

function mentionedIds(text) {
  return state.colleagues.filter((u) => text.includes(`@${u.name}`)).map((u) => u.id);
}

// A reply on its way, per conversation: a second press (a key held down, a double click)
// sends nothing more. Its client id is kept until it is stored, so that sending the same text
// again after an error (an answer lost on the way) is that reply, which the server stores once.
const sending = new Set();
const unsent = new Map(); // conversation id -> {key: mode and text, clientId}

function clientIdFor(id, key) {
  const kept = unsent.get(id);
  if (kept && kept.key === key) return kept.clientId;
  const clientId = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).replace(/[^A-Za-z0-9_-]/g, "");
  unsent.set(id, { key, clientId });
  return clientId;
}

// A reply goes over the live socket (app/web/ws_reply.py: no request around it); when the
// socket cannot answer — closed, silent, a service down — over HTTP, with the same client id,
// which the server stores once. A long text goes over HTTP at once (the socket's frames are
// bounded).
const SOCKET_TEXT = 2000;
const SOCKET_WAIT = 8000; // ms

async function postReply(id, body) {
  if (body.text.length <= SOCKET_TEXT) {
    let answer = null;
    try {
      answer = await request({ type: "reply", conversation_id: id, ...body }, SOCKET_WAIT);
    } catch (err) {
      answer = null; // not answered: HTTP below
    }
    if (answer && answer.type === "reply.stored") return answer.message;
    if (answer && answer.status >= 400 && answer.status < 500 && answer.status !== 401) {
      throw new ApiError(answer.message, answer.status, answer.code);
    }
  }
  return api(`/api/conversations/${id}/messages`, { method: "POST", body });
}

export async function send(confirmed) {
  const id = state.selected;
  const c = state.conversations.get(id);
  if (!c || sending.has(id)) return;
  const text = replyEl.value;
  const problem = refusal(c, text);
  $("reply-error").textContent = problem;
  if (problem) return;
  const note = form.dataset.mode === "note";
  if (!note && !confirmed && c.assignee_id !== null && c.assignee_id !== me.id && confirmedFor !== id) {
    $("confirm-text").textContent = t("inbox.confirm_colleague", { name: c.assignee_name });
    $("confirm-bar").hidden = false;
    $("confirm-send").focus();
    return;
  }
  $("confirm-bar").hidden = true;
  const button = $("reply-send");
  button.disabled = true;
  sending.add(id);
  const clientId = clientIdFor(id, `${note ? "note" : "reply"}:${split.checked}:${text}`);
  try {
    const message = note
      ? await api(`/api/conversations/${id}/notes`, { method: "POST", body: { text, client_id: clientId, mentions: mentionedIds(text) } })
      : await postReply(id, { text, client_id: clientId, split_thread: split.checked });
    unsent.delete(id);
    if (state.selected === id) {
      appendMessage(message);
      replyEl.value = "";
      split.checked = false;
      setMode("reply");
    }
    clearDraft(id);
    emit("sent", id);
    updateCount();
  } catch (err) {
    if (state.selected === id) $("reply-error").textContent = err.message;
  } finally {
    sending.delete(id);
    button.disabled = false;
  }
}

// ---- @mentions: colleagues who can see the conversation ---------------------------------
function mentionQuery() {
  const upto = replyEl.value.slice(0, replyEl.selectionStart);
  const match = /(^|\s)@([^\s@]{0,30})$/u.exec(upto);
  return match ? match[2] : null;
}

function candidates(query) {
  const c = state.conversations.get(state.selected);
  const q = query.toLocaleLowerCase();
  return state.colleagues
    .filter((u) => u.id !== me.id && c && (u.office_id === c.office_id || u.role === "destination_manager"))
    .filter((u) => u.name.toLocaleLowerCase().includes(q))
    .slice(0, 6);
}

function hideMentions() {
  mentionList.hidden = true;
  mentionList.replaceChildren();
  replyEl.removeAttribute("aria-activedescendant");
}

function showMentions() {
  const query = form.dataset.mode === "note" ? mentionQuery() : null;
  const found = query === null ? [] : candidates(query);
  if (!found.length) return hideMentions();
  mentionList.replaceChildren(
    ...found.map((u, i) => {
      const li = el("li", { role: "option", id: `mention-${u.id}`, "aria-selected": String(i === 0), dataset: { testid: "mention-option", id: String(u.id) } }, u.name, el("span", { class: "muted small" }, ` · ${u.office_name || ""}`));
      li.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        pickMention(u);
      });
      return li;
    }),
  );
  mentionList.hidden = false;
  replyEl.setAttribute("aria-activedescendant", `mention-${found[0].id}`);
}

function pickMention(u) {
  const at = replyEl.selectionStart;
  const before = replyEl.value.slice(0, at).replace(/@([^\s@]{0,30})$/u, `@${u.name} `);
  replyEl.value = before + replyEl.value.slice(at);
  replyEl.selectionStart = replyEl.selectionEnd = before.length;
  hideMentions();
  saveDraft(state.selected);
}

function moveMention(step) {
  const options = [...mentionList.children];
  const index = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  const next = options[(index + step + options.length) % options.length];
  options.forEach((o) => o.setAttribute("aria-selected", String(o === next)));
  replyEl.setAttribute("aria-activedescendant", next.id);
}

replyEl.addEventListener("keydown", (ev) => {
  if (!mentionList.hidden) {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      moveMention(ev.key === "ArrowDown" ? 1 : -1);
      ev.preventDefault();
      return;
    }
    if (ev.key === "Enter" || ev.key === "Tab") {
      const chosen = mentionList.querySelector("[aria-selected=true]");
      const user = chosen && state.colleagues.find((u) => u.id === Number(chosen.dataset.id));
      if (user) {
        pickMention(user);
        ev.preventDefault();
        return;
      }
    }
    if (ev.key === "Escape") {
      hideMentions();
      ev.preventDefault();
      ev.stopPropagation();
      return;
    }
  }
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    send(false);
  } else if (ev.key === "Escape") {
    replyEl.blur();
  }
});

replyEl.addEventListener("input", () => {
  saveDraft(state.selected);
  updateCount();
  showMentions();
  if (form.dataset.mode === "reply") emit("typing", state.selected);
});
replyEl.addEventListener("blur", () =>
  setTimeout(() => {
    if (document.activeElement !== replyEl) hideMentions();
  }, 150),
);
split.addEventListener("change", () => {
  saveDraft(state.selected);
  updateCount();
});
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  send(false);
});
for (const button of form.querySelectorAll(".composer-modes [data-mode]")) {
  button.addEventListener("click", () => {
    setMode(button.dataset.mode);
    saveDraft(state.selected);
    replyEl.focus();
  });
}
$("confirm-send").addEventListener("click", () => {
  confirmedFor = state.selected;
  send(true);
});
$("confirm-cancel").addEventListener("click", () => {
  $("confirm-bar").hidden = true;
  replyEl.focus();
});

// ---- Attach a file (a map, a timetable): sent at once as a reply, with the text typed so far.
// The server checks the bytes (photo or PDF, the size cap) and says why it refuses one.
const attach = el("button", { type: "button", class: "secondary small-button attach-button", title: t("files.attach_hint"), dataset: { testid: "attach-file" } }, t("files.attach"));
const picker = el("input", { type: "file", hidden: true, accept: "image/jpeg,image/png,image/gif,image/webp,application/pdf", dataset: { testid: "attach-input" } });
const attachStatus = el("span", { class: "small muted attach-status", role: "status", dataset: { testid: "attach-status" } });
form.querySelector(".composer-bar").prepend(attach, picker, attachStatus);
attach.addEventListener("click", () => picker.click());
picker.addEventListener("change", () => {
  const file = picker.files && picker.files[0];
  picker.value = "";
  if (file) sendFile(file);
});

async function sendFile(file) {
  const id = state.selected;
  if (id === null || id === undefined) return;
  const text = form.dataset.mode === "reply" ? replyEl.value : "";
  const body = new FormData();
  body.append("file", file, file.name);
  if (text.trim()) body.append("text", text);
  body.append("client_id", (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())).replace(/[^A-Za-z0-9_-]/g, ""));
  attach.disabled = true;
  $("reply-error").textContent = "";
  attachStatus.textContent = t("files.sending", { name: file.name });
  try {
    const csrf = document.querySelector("meta[name=csrf-token]").content;
    const response = await fetch(`/api/conversations/${id}/files`, { method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : t("files.error.failed"));
    if (state.selected === id) {
      appendMessage(data);
      if (text.trim()) replyEl.value = "";
    }
    clearDraft(id);
    emit("sent", id);
    updateCount();
  } catch (err) {
    if (state.selected === id) $("reply-error").textContent = err.message === "Failed to fetch" ? t("files.error.failed") : err.message;
  } finally {
    attach.disabled = false;
    attachStatus.textContent = "";
  }
}

// Drafts may quote visitors: signing out on a shared computer leaves none behind.
const logout = document.querySelector("form[action='/logout']");
if (logout) logout.addEventListener("submit", () => localStorage.removeItem(DRAFTS));

export function focusComposer(mode) {
  if (mode) {
    setMode(mode);
    saveDraft(state.selected);
  }
  replyEl.focus();
}

on("leaving", (id) => {
  saveDraft(id);
  if (id !== state.selected) confirmedFor = null;
});
on("selected", (id) => loadDraft(id));
on("head", () => updateCount());
