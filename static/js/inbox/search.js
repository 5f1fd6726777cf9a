// Search: the box at the top of the list pane. Results replace the list while a query is
// typed; each shows its excerpts with the matching words in <mark>, built here from the
// server's text segments (never HTML). Enter or a click opens the conversation at the match.
import { $, ApiError, api, el, on, root, state, t, when } from "./core.js";
import { open } from "./thread.js";

const form = $("search-form");
const input = $("search-input");
const results = $("search-results");
const more = $("search-more");
const summary = $("search-summary");
const errorEl = $("search-error");
let timer = null;
let serial = 0;
let next = null;

function params() {
  const data = new FormData(form);
  const out = new URLSearchParams();
  for (const [k, v] of data.entries()) if (String(v).trim()) out.set(k, String(v));
  return out;
}

function snippet(m) {
  const text = el("span", { class: "search-snippet", dir: "auto" });
  for (const s of m.segments) text.append(s.mark ? el("mark", null, s.text) : s.text);
  return el("span", { class: "search-match", dataset: { testid: "search-match", field: m.field } },
    el("span", { class: "search-field small muted" }, t(`search.field.${m.field}`)), " ", text);
}

function item(hit) {
  const first = hit.matches.find((m) => m.message_id) || null;
  const button = el(
    "button",
    { type: "button", class: "search-row", dataset: { testid: "search-result", id: String(hit.id), message: first ? String(first.message_id) : "" } },
    el("span", { class: "line" },
      el("bdi", { class: "name", dir: "auto" }, hit.contact_name || hit.contact_handle || `${t("inbox.visitor")} #${hit.id}`),
      el("span", { class: "tag channel" }, t(`inbox.channel.${hit.channel}`)),
      el("time", { class: "small muted", datetime: hit.last_message_at }, when(hit.last_message_at))),
    ...hit.matches.map(snippet),
  );
  button.addEventListener("click", () => show(hit.id, first ? first.message_id : null));
  if (hit.id === state.selected) button.setAttribute("aria-current", "true");
  return el("li", { dataset: { testid: "search-item", id: String(hit.id) } }, button);
}

function show(id, messageId) {
  open(id, false, messageId);
}

async function run(append) {
  const query = params();
  const q = (query.get("q") || "").trim();
  if (!q) return clear(false);
  root.classList.add("searching");
  results.hidden = false;
  const mine = ++serial;
  if (!append) summary.textContent = t("search.searching");
  try {
    const url = append && next ? `/api/search?${query}&cursor=${encodeURIComponent(next)}` : `/api/search?${query}`;
    const { data, response } = await api(url, undefined, true);
    if (mine !== serial) return;
    errorEl.hidden = true;
    next = response.headers.get("X-Next-Cursor");
    const rows = data.map(item);
    if (append) results.append(...rows);
    else results.replaceChildren(...rows);
    more.hidden = !next;
    const count = results.children.length;
    summary.textContent = count ? t(count === 1 && !next ? "search.count_one" : "search.count", { n: count }) + (next ? "+" : "") : t("search.none", { q });
  } catch (err) {
    if (mine !== serial) return;
    errorEl.textContent = err instanceof ApiError ? err.message : String(err);
    errorEl.hidden = false;
    summary.textContent = "";
  }
}

function clear(blurToList) {
  serial++;
  next = null;
  root.classList.remove("searching");
  results.hidden = true;
  more.hidden = true;
  results.replaceChildren();
  summary.textContent = "";
  errorEl.hidden = true;
  $("search-clear").hidden = true;
  if (blurToList) {
    input.value = "";
    const row = root.querySelector("[data-testid=conversation-list] button.row[tabindex='0']") || root.querySelector("[data-testid=conversation-list] button.row");
    if (row) row.focus();
    else input.blur();
  }
}

input.addEventListener("input", () => {
  $("search-clear").hidden = !input.value;
  clearTimeout(timer);
  timer = setTimeout(() => run(false), 150);
});
form.addEventListener("change", (ev) => {
  if (ev.target !== input && input.value.trim()) run(false);
});
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  clearTimeout(timer);
  // Enter in the box opens the first result at its match.
  const first = results.querySelector("[data-testid=search-result]");
  if (first && !results.hidden) first.click();
  else run(false);
});
input.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") {
    ev.preventDefault();
    ev.stopPropagation();
    clear(true);
  } else if (ev.key === "ArrowDown") {
    const first = results.querySelector("[data-testid=search-result]");
    if (first) { first.focus(); ev.preventDefault(); }
  }
});
results.addEventListener("keydown", (ev) => {
  const rows = [...results.querySelectorAll("[data-testid=search-result]")];
  const at = rows.indexOf(document.activeElement);
  if (at === -1) return;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    const to = rows[Math.min(Math.max(at + (ev.key === "ArrowDown" ? 1 : -1), 0), rows.length - 1)];
    to.focus();
    ev.preventDefault();
    ev.stopPropagation();
  } else if (ev.key === "Escape") {
    input.focus();
    ev.stopPropagation();
  }
});
$("search-clear").addEventListener("click", () => clear(true));

// The conversation open in the thread is marked among the results too.
on("selected", (id) => {
  for (const b of results.querySelectorAll("[data-testid=search-result]")) {
    if (Number(b.dataset.id) === id) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  }
});

// The label, adviser and office choices are read when the filters are first opened.
let filled = false;
$("search-filters").addEventListener("toggle", async () => {
  if (filled || !$("search-filters").open) return;
  filled = true;
  const fill = (id, rows) => {
    const select = $(id);
    if (select) select.append(...rows.map(([value, name]) => el("option", { value: String(value) }, name)));
  };
  const [labels, people, offices] = await Promise.all([
    api("/api/labels").catch(() => ({ labels: [] })),
    api("/api/colleagues").catch(() => []),
    $("search-office") ? api("/api/offices").catch(() => []) : Promise.resolve([]),
  ]);
  fill("search-label", (labels.labels || []).map((l) => [l.id, l.name]));
  fill("search-assignee", people.map((p) => [p.id, p.name]));
  fill("search-office", offices.map((o) => [o.id, o.name]));
});
more.addEventListener("click", () => run(true));

// "/" anywhere but in a text field (app keyboard.js calls it).
export function focusSearch() {
  input.focus();
  input.select();
}
