// The open conversation: its header, messages and activity lines in time order, who else is
// viewing or typing, failed replies sent again, and the phone's list → thread → back.
import { $, api, clock, contactLabel, el, emit, has, isNarrow, me, number, on, root, state, t, tNodes, when } from "./core.js";
import { renderList, scrollToSelected, upsert } from "./list.js";
import { bodyNode, filesNode, infoNode, marksNode, quotedNode } from "./message.js";
import { xActionsNode } from "./xactions.js";

const messagesEl = $("messages");
const drawn = new Map(); // message id -> the message as drawn in the open thread
const activitiesShown = new Set(); // ids of the activities in the open thread

// The visitor's name and the subject are isolated from each other: an Arabic name before a
// French subject keeps each in its own direction.
function renderHead(c) {
  $("thread-title").replaceChildren(el("bdi", { dir: "auto", dataset: { testid: "thread-name" } }, contactLabel(c)), ...(c.subject ? [" — ", el("bdi", { dir: "auto" }, c.subject)] : []));
  const assignee = c.assignee_name ? tNodes("inbox.assigned_to", { name: c.assignee_name }) : [t("inbox.unassigned")];
  const meta = [[t(`inbox.channel.${c.channel}`)], [el("bdi", { dir: "auto" }, c.account_name)], [c.office_name], assignee, [t(`inbox.status.${c.status}`)]];
  $("thread-meta").replaceChildren(...meta.flatMap((part, i) => (i ? [" · ", ...part] : part)));
  renderProfile(c);
  const toggle = $("toggle-status");
  toggle.textContent = c.status === "open" ? t("inbox.resolve") : t("inbox.reopen");
  toggle.dataset.next = c.status === "open" ? "resolved" : "open";
  $("take").hidden = c.erased || !(c.assignee_id === null && c.status === "open");
  // An erased conversation stays for the figures only: read-only.
  for (const id of ["toggle-status", "transfer", "assign", "visitor-data", "erase-visitor", "composer"]) {
    if ($(id)) $(id).hidden = Boolean(c.erased);
  }
  emit("head", c);
}

// What X says of the visitor: name, @username, verified, followers (in the reader's format).
function renderProfile(c) {
  const node = $("contact-profile");
  const p = c.contact_profile || {};
  const username = (p.username || "").replace(/^@/, "");
  node.hidden = c.channel !== "twitter" || !(p.name || username || p.followers);
  if (node.hidden) {
    node.replaceChildren();
    return;
  }
  const profileUrl = /^https:\/\//i.test(p.url || "") ? p.url : username ? `https://x.com/${encodeURIComponent(username)}` : "";
  const handle = username ? el("bdi", { dir: "auto" }, `@${username}`) : null;
  const followers = /^\d+$/.test(p.followers || "") ? t("message.followers", { count: number(Number(p.followers)) }) : "";
  const verified = p.verified && p.verified !== "0" && p.verified !== "false";
  const who = [
    // The name is in the title already unless X gives another one than the contact's.
    p.name && p.name !== c.contact_name ? el("bdi", { dir: "auto", class: "profile-name" }, p.name) : null,
    handle && profileUrl ? el("a", { href: profileUrl, target: "_blank", rel: "noopener noreferrer", dataset: { testid: "profile-link" } }, handle) : handle,
    verified ? el("span", { class: "verified", role: "img", title: t("message.verified"), "aria-label": t("message.verified"), dataset: { testid: "verified" } }, "✓") : null,
  ].filter(Boolean);
  const parts = who.flatMap((part, i) => (i ? [" ", part] : [part]));
  if (followers) parts.push(...(parts.length ? [" · "] : []), el("span", { dataset: { testid: "followers" } }, followers));
  node.replaceChildren(...parts);
}

function statusText(m) {
  if (m.direction === "note") return ""; // the note's own label says it
  if (m.direction !== "out" || m.author_kind === "system") return "";
  if (m.delivery_status === "failed") return t("inbox.delivery.failed", { error: failure(m) });
  return t(`inbox.delivery.${m.delivery_status}`);
}

// Why a reply failed, in the adviser's language when the channel gave a known reason.
function failure(m) {
  const key = `delivery.${m.delivery_code || ""}`;
  if (!m.delivery_code || !has(key)) return m.delivery_error;
  const params = Object.assign({}, m.delivery_params || {});
  if (params.until) params.until = when(params.until);
  return t(key, params);
}

function messageNode(m) {
  const cls = m.direction === "note" ? "note" : m.author_kind === "system" ? "system" : m.direction === "in" ? "in" : "out";
  const author = m.author_kind === "system" ? t("inbox.system") : m.author_name;
  const failed = m.delivery_status === "failed" && m.direction === "out" && m.author_kind === "adviser";
  const retry = failed ? el("button", { type: "button", class: "link retry", dataset: { testid: "retry" } }, t("inbox.retry")) : null;
  if (retry) retry.addEventListener("click", () => resend(m.id, retry));
  const label = m.direction === "note" ? el("span", { class: "note-label" }, t("inbox.note_label")) : null;
  const status = [when(m.created_at), statusText(m)].filter(Boolean).join(" · ");
  return el(
    "li",
    {
      class: `msg ${cls}${failed ? " failed" : ""}${(m.mentions || []).includes(me.id) ? " mentions-me" : ""}`,
      dataset: { testid: "message", id: String(m.id), direction: m.direction, kind: m.kind || "normal", at: m.created_at },
    },
    label,
    marksNode(m),
    bodyNode(m),
    quotedNode(m),
    filesNode(m),
    infoNode(m),
    xActionsNode(m),
    el("span", { class: "meta" }, author ? el("bdi", { class: "author", dir: "auto" }, author) : null, author ? " · " : null, status, retry ? " " : null, retry),
  );
}

// The activity line's words, every name in it isolated (dir="auto") from the words around it.
function activityNodes(a) {
  if (a.kind === "reopened" && !a.actor_id) return [t("inbox.activity.reopened_visitor")];
  if (a.kind === "spam" && !a.actor_id) return [t("inbox.activity.spam_blocked")];
  if (a.kind === "blocked") return tNodes(`inbox.activity.blocked_${a.detail === "ip" ? "ip" : "contact"}`, { who: a.actor_name });
  if (a.kind === "assigned_to" && !a.user_id) return tNodes("inbox.activity.unassigned", { who: a.actor_name });
  if (a.kind === "assigned_to" && a.user_id === a.actor_id) return tNodes("inbox.activity.picked", { who: a.actor_name });
  if (a.kind === "survey") return tNodes("inbox.activity.survey", { rating: a.detail.split("\n")[0] });
  if (a.kind === "rule") return tNodes(a.user_name ? "inbox.activity.rule_adviser" : "inbox.activity.rule", { rule: a.detail, office: a.office_name, user: a.user_name });
  const who = a.actor_name || t("inbox.activity.system");
  if (a.kind === "labelled" || a.kind === "unlabelled") return tNodes(`inbox.activity.${a.kind}`, { who, label: a.detail });
  return tNodes(`inbox.activity.${a.kind}`, { who, user: a.user_name, office: a.office_name, from: a.from_office_name });
}

function activityNode(a) {
  return el(
    "li",
    { class: "activity", dataset: { testid: "activity", kind: a.kind, at: a.at } },
    el("span", {}, ...activityNodes(a)),
    el("span", { class: "time" }, ` · ${clock(a.at)}`),
    a.kind === "transferred" && a.detail ? el("span", { class: "detail", dir: "auto" }, ` — ${a.detail}`) : null,
    // The visitor's comment, as text.
    a.kind === "survey" && a.detail.includes("\n") && a.detail.split("\n").slice(1).join("\n")
      ? el("span", { class: "detail" }, " — ", el("q", { dir: "auto", dataset: { testid: "survey-comment" } }, a.detail.split("\n").slice(1).join("\n")))
      : null,
  );
}

// Inserts in time order (items mostly arrive last, so this walks from the end).
function place(node, at) {
  let after = messagesEl.lastElementChild;
  while (after && after.dataset.at > at) after = after.previousElementSibling;
  if (after) after.after(node);
  else messagesEl.prepend(node);
}

// On e-mail the latest visitor message says where replies go (its Reply-To, else the contact).
function noteReplyTo(m) {
  const c = state.conversations.get(m.conversation_id);
  if (!c || c.channel !== "email" || m.direction !== "in") return;
  const latest = state.replyTo.get(c.id);
  if (latest && latest.at > m.created_at) return;
  const address = m.details && typeof m.details.reply_to === "string" ? m.details.reply_to : "";
  state.replyTo.set(c.id, { at: m.created_at, address });
  if (c.id === state.selected) emit("head", c);
}

// While a thread is read from the server, what is shown for it meanwhile (the reply just sent,
// a visitor's message, an activity, a reply's delivery) is kept here: the thread was read before
// it, and drawing the thread would otherwise wipe it. It is shown again once the thread is drawn.
let loading = null; // {id, later: [[kind, item]]}

function keep(kind, item) {
  if (loading && loading.id === state.selected) loading.later.push([kind, item]);
}

export function appendMessage(m) {
  keep("m", m);
  if (drawn.has(m.id)) return;
  drawn.set(m.id, m);
  noteReplyTo(m);
  const nearBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 120;
  place(messageNode(m), m.created_at);
  if (nearBottom || m.direction !== "in") messagesEl.scrollTop = messagesEl.scrollHeight;
}

export function appendActivity(a) {
  keep("a", a);
  if (activitiesShown.has(a.id)) return;
  activitiesShown.add(a.id);
  const nearBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 120;
  place(activityNode(a), a.at);
  if (nearBottom) messagesEl.scrollTop = messagesEl.scrollHeight;
}

export function replaceMessage(m) {
  const node = messagesEl.querySelector(`[data-testid=message][data-id="${m.id}"]`);
  if (!node) return;
  drawn.set(m.id, m);
  node.replaceWith(messageNode(m));
}

// A message's status changed (message.status). A reply's delivery (sent, not sent and why,
// sending again) is in the event itself: drawn anew from it, without reading the thread again.
// Any other change (an action on X on a visitor's tweet) is read from the server.
export function applyStatus(frame) {
  keep("s", frame);
  const m = drawn.get(frame.message_id);
  if (!m || frame.conversation_id !== state.selected) return;
  if (m.direction !== "out") {
    refreshMessage(frame.conversation_id, frame.message_id).catch(() => {});
    return;
  }
  replaceMessage({
    ...m,
    delivery_status: frame.status,
    delivery_error: frame.error || "",
    delivery_code: frame.code || "",
    delivery_params: frame.params || {},
  });
}

// Sends a failed reply again. Its delivery is then drawn from the status events that follow
// (sending, then sent or not), not by reading the thread again; the answer is drawn only when no
// event came first (the socket reconnecting), so it never draws "Sending…" over "Sent".
async function resend(id, button) {
  button.disabled = true;
  try {
    const m = await api(`/api/messages/${id}/retry`, { method: "POST", body: {} });
    const shown = drawn.get(id);
    if (shown && shown.delivery_status === "failed" && m.conversation_id === state.selected) replaceMessage(m);
  } catch (err) {
    $("reply-error").textContent = err.message;
    button.disabled = false;
  }
}

// Reading changes nothing on the server: marking read is a POST of its own (CSRF-checked),
// sent when the adviser has the conversation in front of them.
export async function markRead(id) {
  if (document.visibilityState !== "visible") return;
  try {
    const c = await api(`/api/conversations/${id}/read`, { method: "POST", body: {} });
    if (state.conversations.has(id)) upsert(c);
  } catch (err) {
    // Not marked: it stays unread, which is what the adviser sees.
  }
}

// One message read again (an action on X changed it), not the whole thread.
export async function refreshMessage(conversationId, messageId) {
  const m = await api(`/api/conversations/${conversationId}/messages/${messageId}`);
  if (state.selected === conversationId) replaceMessage(m);
}

export function renderViewers() {
  const node = $("viewers");
  const viewers = state.viewers.get(state.selected);
  const names = viewers ? [...viewers.entries()].filter(([id]) => id !== me.id).map(([, name]) => name) : [];
  node.hidden = names.length === 0;
  node.textContent = names.length ? t("inbox.viewing", { names: names.join(", ") }) : "";
}

export function renderTyping() {
  const node = $("typing");
  const typing = state.typing.get(state.selected);
  const active = typing && typing.until > Date.now() && typing.userId !== me.id;
  const text = active ? t(typing.side === "visitor" ? "inbox.visitor_typing" : "inbox.colleague_typing", { name: typing.name }) : "";
  if (node.textContent !== text) node.textContent = text;
}
setInterval(renderTyping, 1000);

function showThread(id) {
  root.classList.add("has-thread");
  $("thread-placeholder").hidden = true;
  $("thread").hidden = false;
  $("reply-error").textContent = "";
  $("thread-notice").hidden = true;
  const exportLink = $("visitor-data");
  if (exportLink) exportLink.href = `/api/conversations/${id}/visitor-data`;
  if ($("erase-form")) $("erase-form").hidden = true;
}

// `atMessage`: a message to scroll to and highlight briefly (a search's match).
export async function open(id, fromHistory, atMessage) {
  const previous = state.selected;
  state.selected = id;
  if (previous !== id) {
    emit("leaving", previous);
    emit("selected", id);
  }
  showThread(id);
  // On a phone the thread replaces the list: the browser's back button comes back to it.
  if (isNarrow() && !fromHistory && !(history.state && history.state.conversation === id)) {
    history.pushState({ conversation: id }, "", `#c${id}`);
  }
  renderList();
  scrollToSelected();
  const cached = state.conversations.get(id);
  if (cached) renderHead(cached);
  let data;
  const reading = { id, later: [] };
  loading = reading;
  try {
    data = await api(`/api/conversations/${id}`);
  } catch (err) {
    if (loading === reading) loading = null;
    if (state.selected === id) {
      $("thread-notice").textContent = err.message;
      $("thread-notice").hidden = false;
    }
    return;
  }
  if (loading === reading) loading = null;
  if (state.selected !== id) return;
  state.conversations.set(id, data.conversation);
  renderHead(data.conversation);
  drawn.clear();
  activitiesShown.clear();
  messagesEl.replaceChildren();
  for (const m of data.messages) appendMessage(m);
  for (const a of data.activities || []) appendActivity(a);
  // What arrived while it was read: what the thread has already is drawn from the thread.
  const replay = { m: appendMessage, a: appendActivity, s: applyStatus };
  for (const [kind, item] of reading.later) replay[kind](item);
  messagesEl.scrollTop = messagesEl.scrollHeight;
  const hit = atMessage ? messagesEl.querySelector(`[data-testid=message][data-id="${atMessage}"]`) : null;
  if (hit) {
    hit.scrollIntoView({ block: "center" });
    hit.classList.add("search-hit");
    setTimeout(() => hit.classList.remove("search-hit"), 2500);
  }
  renderList();
  renderViewers();
  renderTyping();
  emit("opened", data.conversation, previous);
  if (data.conversation.unread > 0) markRead(id);
  api(`/api/conversations/${id}/viewers`)
    .then((rows) => {
      state.viewers.set(id, new Map(rows.map((v) => [v.user_id, v.name])));
      if (state.selected === id) renderViewers();
    })
    .catch(() => {});
}

export function closeThread() {
  const previous = state.selected;
  root.classList.remove("has-thread");
  emit("leaving", previous);
  if (isNarrow()) {
    state.selected = null;
    $("thread").hidden = true;
    $("thread-placeholder").hidden = false;
    renderList();
    const row = root.querySelector(`[data-testid=conversation-item][data-id="${previous}"] button.row`) || root.querySelector("button.row");
    if (row) row.focus();
  }
}

export function dropSelected() {
  state.selected = null;
  root.classList.remove("has-thread");
  $("thread").hidden = true;
  $("thread-placeholder").hidden = false;
}

$("back").addEventListener("click", () => {
  if (history.state && history.state.conversation) history.back();
  else closeThread();
});
window.addEventListener("popstate", (ev) => {
  if (ev.state && ev.state.conversation) open(ev.state.conversation, true);
  else closeThread();
});

on("conversation", (c, before, ours) => {
  if (c.id !== state.selected) return;
  if (ours) renderHead(c);
  else dropSelected();
});

export { renderHead, upsert };
