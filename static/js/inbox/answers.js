// The answer picker in the composer: "/" typed at the start of the reply or after a space (or
// the Answers button) opens a listbox of prepared answers; typing filters it, ↑/↓ move,
// Enter/Tab insert the answer filled for this conversation in its visitor's language, Escape
// closes and leaves the text as typed. Also "Save as answer" on a sent reply (message.js asks).
// Answer text is only ever inserted as text: into the textarea's value or with textContent.
import { $, api, el, emit, lang, locale, me, on, state, t } from "./core.js";

const form = $("composer");
const replyEl = $("reply-text");
const picker = $("answer-picker");
const list = $("answer-picker-list");
const statusEl = $("answer-picker-status");
const insertedEl = $("answer-inserted");
const button = $("answers-button");
const SLASH = /(^|\s)\/([^\s/]{0,40})$/u;
const DEBOUNCE_MS = 40;

const names = (() => {
  try {
    return new Intl.DisplayNames([locale], { type: "language" });
  } catch (err) {
    return null;
  }
})();
const languageName = (code) => {
  try {
    return (names && names.of(code)) || code;
  } catch (err) {
    return code;
  }
};

let open = false;
let results = []; // what the listbox shows now
let active = 0;
let timer = null;
let controller = null;
let cache = new Map(); // query → answers, for the open conversation
let fromButton = false; // the "/" was put there by the button: Escape takes it back out

// Where the "/query" being typed starts, and the query; null when the caret is not after one.
function typed() {
  if (form.dataset.mode !== "reply") return null;
  const upto = replyEl.value.slice(0, replyEl.selectionStart);
  const match = SLASH.exec(upto);
  if (!match || replyEl.selectionStart !== replyEl.selectionEnd) return null;
  return { start: upto.length - match[2].length - 1, query: match[2] };
}

function close() {
  if (!open) return;
  open = false;
  picker.hidden = true;
  list.replaceChildren();
  results = [];
  fromButton = false;
  replyEl.removeAttribute("aria-activedescendant");
  button.setAttribute("aria-expanded", "false");
  clearTimeout(timer);
  if (controller) controller.abort();
}

function optionNode(a, i) {
  const badge = el("span", { class: `answer-lang${a.fallback ? " fallback" : ""}`, lang: a.language, title: languageName(a.language) }, a.language.toUpperCase());
  const fallback = a.fallback ? el("span", { class: "answer-fallback small", dataset: { testid: "answer-fallback" } }, t("answers.fallback", { wanted: languageName(a.requested_language), used: languageName(a.language) })) : null;
  const li = el(
    "li",
    { role: "option", id: `answer-option-${a.id}`, "aria-selected": String(i === active), dataset: { testid: "answer-option", id: String(a.id), shortcut: a.shortcut } },
    el("span", { class: "answer-line" }, el("b", { class: "answer-title", dir: "auto" }, a.title), el("code", { class: "answer-shortcut" }, `/${a.shortcut}`), badge),
    fallback,
    el("span", { class: "answer-preview small muted", dir: "auto" }, a.preview),
  );
  li.addEventListener("mousedown", (ev) => {
    ev.preventDefault(); // keeps the focus (and the caret) in the reply box
    insert(a);
  });
  return li;
}

function render(query) {
  list.replaceChildren(...results.map(optionNode));
  statusEl.textContent = results.length ? t("answers.picker_count", { count: results.length }) : t("answers.picker_empty", { query });
  if (results.length) replyEl.setAttribute("aria-activedescendant", `answer-option-${results[active].id}`);
  else replyEl.removeAttribute("aria-activedescendant");
}

function move(step) {
  if (!results.length) return;
  active = (active + step + results.length) % results.length;
  for (const [i, node] of [...list.children].entries()) node.setAttribute("aria-selected", String(i === active));
  const node = list.children[active];
  node.scrollIntoView({ block: "nearest" });
  replyEl.setAttribute("aria-activedescendant", node.id);
}

// Instant: the answers already fetched for a shorter query, narrowed here while the server
// ranks the new one.
function narrowed(query) {
  const folded = fold(query);
  for (let n = query.length - 1; n >= 0; n -= 1) {
    const known = cache.get(query.slice(0, n));
    if (known) return known.filter((a) => fold(`${a.shortcut} ${a.title} ${a.tags.join(" ")} ${a.preview}`).includes(folded));
  }
  return null;
}

function fold(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase();
}

async function search(query) {
  const id = state.selected;
  if (cache.has(query)) return show(query, cache.get(query));
  const quick = narrowed(query);
  if (quick) show(query, quick);
  else statusEl.textContent = t("answers.picker_loading");
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (controller) controller.abort();
    const mine = new AbortController();
    controller = mine;
    try {
      const params = new URLSearchParams({ q: query, conversation_id: String(id), status: "approved", limit: "30" });
      const found = await api(`/api/answers?${params}`, { signal: mine.signal });
      if (mine.signal.aborted || id !== state.selected || !Array.isArray(found)) return;
      cache.set(query, found);
      const now = typed();
      if (open && ((now && now.query === query) || (fromButton && query === ""))) show(query, found);
    } catch (err) {
      if (!mine.signal.aborted && open) statusEl.textContent = err.message;
    }
  }, quick ? DEBOUNCE_MS : 0);
}

function show(query, found) {
  const keep = results[active] && found.findIndex((a) => a.id === results[active].id);
  results = found;
  active = keep > 0 ? keep : 0;
  render(query);
}

function update() {
  const now = typed();
  if (!now || state.selected === null) return close();
  if (!open) {
    open = true;
    active = 0;
    picker.hidden = false;
    button.setAttribute("aria-expanded", "true");
  }
  search(now.query);
}

async function insert(a) {
  const at = typed();
  const id = state.selected;
  close();
  if (!at) return;
  let filled;
  try {
    filled = await api(`/api/answers/${a.id}/use`, { method: "POST", body: { conversation_id: id } });
  } catch (err) {
    $("reply-error").textContent = err.message;
    return;
  }
  if (id !== state.selected) return;
  const end = at.start + 1 + at.query.length;
  const before = replyEl.value.slice(0, at.start) + filled.text;
  replyEl.value = before + replyEl.value.slice(end);
  replyEl.selectionStart = replyEl.selectionEnd = before.length;
  replyEl.focus();
  // The composer keeps its draft, count and typing signal on "input".
  replyEl.dispatchEvent(new Event("input", { bubbles: true }));
  const notes = [];
  if (filled.fallback) notes.push(t("answers.inserted_fallback", { used: languageName(filled.language), wanted: languageName(filled.requested_language) }));
  if (filled.unfilled.length) notes.push(t("answers.unfilled", { names: filled.unfilled.map((n) => `{${n}}`).join(", ") }));
  insertedEl.textContent = notes.join(" ");
  insertedEl.hidden = !notes.length;
}

// Capture phase on the form: these keys reach the picker before the composer's own handler
// (send on Ctrl+Enter, blur on Escape) and before the @mention list's.
form.addEventListener(
  "keydown",
  (ev) => {
    if (!open || ev.target !== replyEl) return;
    const handled = () => {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    };
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      move(ev.key === "ArrowDown" ? 1 : -1);
      handled();
    } else if ((ev.key === "Enter" || ev.key === "Tab") && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey && results[active]) {
      insert(results[active]);
      handled();
    } else if (ev.key === "Escape") {
      if (fromButton) {
        const at = typed();
        if (at && at.query === "") {
          replyEl.value = replyEl.value.slice(0, at.start) + replyEl.value.slice(at.start + 1);
          replyEl.selectionStart = replyEl.selectionEnd = at.start;
          replyEl.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }
      close();
      handled();
    }
  },
  true,
);

replyEl.addEventListener("input", update);
replyEl.addEventListener("click", update);
replyEl.addEventListener("blur", () =>
  setTimeout(() => {
    if (document.activeElement !== replyEl) close();
  }, 150),
);
// aria-expanded is not allowed on a textarea: the button carries it; the list is named here.
replyEl.setAttribute("aria-controls", "answer-picker-list");

button.addEventListener("click", () => {
  if (open) return close();
  // The button types the "/" itself, so both ways of opening are one.
  const at = replyEl.selectionStart;
  const before = replyEl.value.slice(0, at);
  const slash = before === "" || /\s$/u.test(before) ? "/" : " /";
  replyEl.value = before + slash + replyEl.value.slice(replyEl.selectionEnd);
  replyEl.selectionStart = replyEl.selectionEnd = at + slash.length;
  replyEl.focus();
  replyEl.dispatchEvent(new Event("input", { bubbles: true }));
  fromButton = true;
});

on("selected", () => {
  close();
  cache = new Map();
  insertedEl.hidden = true;
});
on("sent", () => {
  close(); // Ctrl+Enter sends even with the list open; the reply box is empty now
  insertedEl.hidden = true;
});

// ---- "Save as answer" on a sent reply -------------------------------------------------------
const LANGS = ["fr", "en", "de", "nl", "es", "it"];
let saveDialog = null;

function field(label, control) {
  return el("label", { class: "answer-field" }, label, control);
}

function buildDialog() {
  const language = el("select", { name: "language", dataset: { testid: "save-answer-language" } }, ...LANGS.map((code) => el("option", { value: code }, `${code.toUpperCase()} · ${languageName(code)}`)));
  const formEl = el(
    "form",
    { method: "dialog", class: "save-answer", dataset: { testid: "save-answer-form" } },
    el("h2", { id: "save-answer-title" }, t("answers.save_dialog_title")),
    el("p", { class: "muted small", dataset: { testid: "save-answer-hint" } }, t(me.role === "adviser" ? "answers.save_dialog_hint_adviser" : "answers.save_dialog_hint_manager")),
    field(t("answers.form_title"), el("input", { name: "title", maxlength: "200", required: true, dir: "auto", dataset: { testid: "save-answer-name" } })),
    field(t("answers.form_shortcut"), el("input", { name: "shortcut", maxlength: "64", required: true, autocapitalize: "off", spellcheck: "false", dataset: { testid: "save-answer-shortcut" } })),
    field(t("answers.form_language"), language),
    field(t("answers.form_text"), el("textarea", { name: "text", rows: "6", maxlength: "5000", dir: "auto", dataset: { testid: "save-answer-text" } })),
    el("p", { class: "error small", role: "alert", dataset: { testid: "save-answer-error" } }),
    el("div", { class: "dialog-actions" }, el("button", { type: "button", class: "secondary", value: "cancel", dataset: { testid: "save-answer-cancel" } }, t("answers.cancel")), el("button", { type: "submit", class: "primary", dataset: { testid: "save-answer-save" } }, t(me.role === "adviser" ? "answers.propose" : "answers.save"))),
  );
  const dialog = el("dialog", { class: "pick answer-save-dialog", "aria-labelledby": "save-answer-title", dataset: { testid: "save-answer-dialog" } }, formEl);
  formEl.querySelector("[value=cancel]").addEventListener("click", () => dialog.close());
  formEl.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = formEl.querySelector("[role=alert]");
    const body = {
      title: formEl.elements.title.value,
      shortcut: formEl.elements.shortcut.value,
      texts: { [formEl.elements.language.value]: formEl.elements.text.value },
      source_message_id: Number(dialog.dataset.messageId),
    };
    try {
      const saved = await api("/api/answers", { method: "POST", body });
      dialog.close();
      insertedEl.textContent = t(saved.status === "proposed" ? "answers.proposed" : "answers.saved");
      insertedEl.hidden = false;
      emit("answerSaved", saved);
    } catch (err) {
      error.textContent = err.message;
    }
  });
  document.body.append(dialog);
  return dialog;
}

on("saveAsAnswer", (m) => {
  saveDialog = saveDialog || buildDialog();
  const f = saveDialog.querySelector("form");
  f.reset();
  f.elements.text.value = m.text;
  f.elements.language.value = LANGS.includes(lang) ? lang : "en";
  // The visitor's language, as the server knows it, is the text's most likely language.
  api(`/api/answers?${new URLSearchParams({ conversation_id: String(m.conversation_id), limit: "1" })}`)
    .then((found) => {
      const visitor = found.length ? found[0].requested_language : "";
      if (LANGS.includes(visitor)) f.elements.language.value = visitor;
    })
    .catch(() => {});
  f.querySelector("[role=alert]").textContent = "";
  saveDialog.dataset.messageId = String(m.id);
  saveDialog.showModal();
  f.elements.title.focus();
});
