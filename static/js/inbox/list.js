// The conversation list: tabs with counts, pages past the first 50, live chats first,
// waiting time against target, keyboard focus, and checkboxes for bulk actions.
import { $, api, contactLabel, duration, el, emit, me, now, number, root, state, t, when } from "./core.js";
import { chips, priorityFlag } from "./labelchips.js";

const listEl = $("conversation-list");
const PAGE = 50;

export function isLive(c) {
  return state.live.has(c.id) ? state.live.get(c.id) : Boolean(c.visitor_live);
}

// How long the visitor has waited, and whether that is past the account's target.
export function waiting(c) {
  if (c.status !== "open" || !c.waiting_since) return null;
  const seconds = (now() - Date.parse(c.waiting_since)) / 1000;
  const target = c.target_seconds || 0;
  return { seconds, target, overdue: target > 0 && seconds > target };
}

export function concernsMe(c) {
  if (c.spam) return false; // spam rings nobody (app/spam.py)
  if (c.assignee_id === me.id) return true;
  return c.assignee_id === null && (me.officeId === null || c.office_id === me.officeId);
}

function matchesTab(c) {
  // The label filter (labels.js): only the conversations carrying it.
  if (state.labelId && !(c.labels || []).some((l) => l.id === state.labelId)) return false;
  // Spam shows in the managers' Spam view only, and nothing else does there.
  if (state.filter === "spam" || c.spam) return state.filter === "spam" && Boolean(c.spam);
  switch (state.filter) {
    case "mine":
      return c.assignee_id === me.id && c.status === "open";
    case "queued":
      return c.assignee_id === null && c.status === "open";
    case "all":
      return true;
    default:
      return c.status === state.filter;
  }
}

// Open chats whose visitor is here now come first, then the most recent activity.
function order(a, b) {
  const liveA = a.status === "open" && isLive(a) && a.waiting_since ? 0 : 1;
  const liveB = b.status === "open" && isLive(b) && b.waiting_since ? 0 : 1;
  if (liveA !== liveB) return liveA - liveB;
  return b.last_message_at.localeCompare(a.last_message_at) || b.id - a.id;
}

export function visibleIds() {
  return [...listEl.querySelectorAll("li[data-id]")].map((li) => Number(li.dataset.id));
}

function item(c) {
  const wait = waiting(c);
  const live = c.status === "open" && isLive(c);
  const checked = state.checked.has(c.id);
  const selected = c.id === state.selected;
  const box = el("input", {
    type: "checkbox",
    class: "pick",
    tabindex: "-1",
    "aria-label": t("inbox.select_item", { name: contactLabel(c) }),
    dataset: { testid: "conversation-check" },
  });
  box.checked = checked;
  box.addEventListener("click", (ev) => {
    ev.stopPropagation();
    toggleChecked(c.id);
  });
  // The row is a button (reachable by Tab and the arrow keys, announced as current when open);
  // the checkbox for bulk actions stands beside it, not inside it.
  const button = el(
    "button",
    {
      type: "button",
      class: "row",
      tabindex: selected ? "0" : "-1",
      "aria-current": selected ? "true" : null,
      dataset: { testid: "conversation-open" },
    },
    el("span", { class: "who", dir: "auto" }, live ? el("span", { class: "dot", title: t("inbox.visitor_live"), dataset: { testid: "live-visitor" } }, "●") : null, contactLabel(c)),
    el("span", { class: "when" }, when(c.last_message_at)),
    el("span", { class: "preview", dir: "auto" }, c.preview),
    el(
      "span",
      { class: "tags" },
      // What matters at a glance first (priority, waiting, queued), then where it came from.
      priorityFlag(c),
      wait
        ? el(
            "span",
            {
              class: `tag wait${wait.overdue ? " over" : ""}`,
              dataset: { testid: "waiting", overdue: String(wait.overdue) },
              title: wait.overdue ? t("inbox.waiting_over", { time: duration(wait.seconds), target: duration(wait.target) }) : t("inbox.target", { target: duration(wait.target) }),
            },
            t("inbox.waiting_for", { time: duration(wait.seconds) }),
            wait.overdue ? el("span", { class: "visually-hidden" }, ` — ${t("inbox.past_target", { target: duration(wait.target) })}`) : null,
          )
        : null,
      c.assignee_id === null && c.status === "open" ? el("span", { class: "tag queued", dataset: { testid: "queued" } }, t("inbox.queued")) : null,
      c.assignee_id !== null && c.assignee_id !== me.id ? el("span", { class: "tag person", dir: "auto" }, c.assignee_name) : null,
      el("span", { class: "tag channel" }, t(`inbox.channel.${c.channel}`)),
      el("span", { class: "tag account", dir: "auto", title: c.account_name }, c.account_name),
      c.unread > 0 ? el("span", { class: "badge", dataset: { testid: "unread-badge" }, title: t("inbox.unread", { count: c.unread }) }, String(c.unread)) : null,
    ),
    // Its labels on a line of their own, so their names stay readable (labelchips.js).
    c.labels && c.labels.length ? el("span", { class: "row-labels" }, ...chips(c.labels, 3)) : null,
  );
  button.addEventListener("click", () => emit("open", c.id));
  return el(
    "li",
    {
      id: `conversation-${c.id}`,
      class: [selected ? "active" : "", wait && wait.overdue ? "overdue" : "", live ? "live-visitor" : "", checked ? "checked" : ""].join(" ").trim() || null,
      dataset: { testid: "conversation-item", id: String(c.id), unread: String(c.unread), active: String(selected) },
    },
    box,
    button,
  );
}

export function renderList() {
  const items = [...state.conversations.values()].filter(matchesTab).sort(order);
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-testid=conversation-list] li");
  const focusedId = focused ? focused.dataset.id : null;
  listEl.replaceChildren(...items.map(item));
  // One row is always reachable by Tab: the open one, else the first.
  if (!listEl.querySelector("button.row[tabindex='0']")) {
    const first = listEl.querySelector("button.row");
    if (first) first.setAttribute("tabindex", "0");
  }
  if (focusedId) focusRow(Number(focusedId), true);
  $("list-empty").hidden = items.length > 0;
  $("load-more").hidden = !state.cursor;
  renderBulk();
  emit("listRendered");
}

export function focusRow(id, quiet) {
  const row = listEl.querySelector(`li[data-id="${id}"] button.row`);
  if (row) row.focus({ preventScroll: Boolean(quiet) });
}

export function scrollToSelected() {
  const node = listEl.querySelector(`li[data-id="${state.selected}"]`);
  if (node) node.scrollIntoView({ block: "nearest" });
}

export async function loadList(append) {
  const filter = state.filter;
  const params = new URLSearchParams({ status: filter, limit: String(PAGE) });
  if (state.labelId) params.set("label_id", String(state.labelId));
  const labelId = state.labelId;
  if (append && state.cursor) params.set("cursor", state.cursor);
  const { data, response } = await api(listPath(params), undefined, true);
  if (filter !== state.filter || labelId !== state.labelId) return;
  if (!append) {
    // Keep what the open thread shows; drop rows of other tabs that are no longer current.
    for (const [id, c] of state.conversations) if (id !== state.selected && !matchesTab(c)) state.conversations.delete(id);
  }
  for (const c of data) state.conversations.set(c.id, c);
  state.cursor = response.headers.get("X-Next-Cursor");
  renderList();
  refreshCounts();
}

// The Spam view (managers) has its own endpoint; every other tab is a status of one list.
function listPath(params) {
  if (params.get("status") !== "spam") return `/api/conversations?${params}`;
  params.delete("status");
  return `/api/moderation/spam?${params}`;
}

let countsTimer = null;
let countsAsked = 0;
export function refreshCounts() {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(async () => {
    const asked = ++countsAsked;
    let counts;
    try {
      counts = await api("/api/conversations/counts");
    } catch (err) {
      return;
    }
    if (asked !== countsAsked) return; // an older answer landing late must not win
    state.counts = counts;
    for (const [name, value] of Object.entries(state.counts)) {
      const node = $(`count-${name}`);
      if (node) node.textContent = value ? number(value) : "";
    }
    emit("counts", state.counts);
  }, 250);
}

// A conversation as it is now: kept if it is still ours to see, dropped if it moved away.
export function upsert(c) {
  const ours = me.officeId === null || me.officeId === c.office_id || c.assignee_id === me.id;
  const before = state.conversations.get(c.id);
  if (ours) state.conversations.set(c.id, c);
  else {
    state.conversations.delete(c.id);
    state.checked.delete(c.id);
  }
  emit("conversation", c, before, ours);
  renderList();
  refreshCounts();
}

// A conversation left our office (a removal notice, with nothing of it): out of the list. If
// it is still ours another way (assigned to us), the conversation.changed after it says so.
export function drop(id) {
  const before = state.conversations.get(id);
  state.conversations.delete(id);
  state.checked.delete(id);
  if (before) emit("conversation", before, before, false);
  renderList();
  refreshCounts();
}

function toggleChecked(id) {
  if (state.checked.has(id)) state.checked.delete(id);
  else state.checked.add(id);
  renderList();
}

export function toggleCheckedSelected() {
  if (state.selected !== null) toggleChecked(state.selected);
}

function renderBulk() {
  const n = state.checked.size;
  $("bulk-bar").hidden = n === 0;
  $("bulk-count").textContent = t("inbox.bulk_selected", { count: n });
}

export function setFilter(name) {
  state.filter = name;
  state.cursor = null;
  root.querySelectorAll("[data-filter]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.filter === name)));
  renderList();
  loadList(false).catch((err) => showListNotice(err.message));
}

export function showListNotice(text) {
  const node = $("list-notice");
  node.textContent = text;
  node.hidden = !text;
}

root.querySelectorAll("[data-filter]").forEach((button) => button.addEventListener("click", () => setFilter(button.dataset.filter)));
$("load-more").addEventListener("click", () => loadList(true));
listEl.addEventListener("scroll", () => {
  if (state.cursor && listEl.scrollTop + listEl.clientHeight > listEl.scrollHeight - 200) {
    const cursor = state.cursor;
    state.cursor = null; // one page at a time
    const params = new URLSearchParams({ status: state.filter, limit: String(PAGE), cursor });
    if (state.labelId) params.set("label_id", String(state.labelId));
    api(listPath(params), undefined, true)
      .then(({ data, response }) => {
        for (const c of data) state.conversations.set(c.id, c);
        state.cursor = response.headers.get("X-Next-Cursor");
        renderList();
      })
      .catch(() => {
        state.cursor = cursor;
      });
  }
});
$("bulk-clear").addEventListener("click", () => {
  state.checked.clear();
  renderList();
});
// Waiting times move on their own.
setInterval(renderList, 30_000);
