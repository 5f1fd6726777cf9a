// The visitor's profile beside the thread: who they are across chat, e-mail and X, their other
// conversations (only those the adviser may see; the others counted), inline corrections, merge
// suggestions and the history of corrections and merges with "Undo merge". Toggled by its
// button or P; a right-hand column on a wide screen, a full-screen sheet on a phone.
// Visitor text is only ever inserted as text.
import { $, api, contactLabel, el, emit, isNarrow, longDate, on, root, state, t, tNodes, when } from "./core.js";

const panel = $("profile-panel");
const body = $("profile-body");
const toggle = $("profile-toggle");
const errorEl = $("profile-error");
const STORE = "concierge.profile.open";
let profile = null; // the profile shown, as the server last described it
let loading = 0; // the latest load's number: an older answer arriving late is dropped
let reloadTimer = null;

function isOpen() {
  return !panel.hidden;
}

function setOpen(open, { focus = true } = {}) {
  panel.hidden = !open;
  root.classList.toggle("with-profile", open);
  if (toggle) toggle.setAttribute("aria-expanded", String(open));
  try {
    localStorage.setItem(STORE, open ? "1" : "");
  } catch (err) {
    /* private browsing: the choice is simply not remembered */
  }
  if (open) {
    load();
    if (focus) panel.focus();
  } else if (focus && toggle && !toggle.closest("[hidden]")) {
    toggle.focus();
  }
}

function selectedContact() {
  const c = state.selected !== null ? state.conversations.get(state.selected) : null;
  return c ? c.contact_id || null : null;
}

async function load() {
  const id = selectedContact();
  const mine = ++loading;
  errorEl.textContent = "";
  if (!id) {
    profile = null;
    body.replaceChildren(el("p", { class: "muted small" }, t("inbox.select")));
    return;
  }
  body.setAttribute("aria-busy", "true");
  if (!profile || !profile.contact_ids.includes(id)) body.replaceChildren(el("p", { class: "muted small" }, t("profile.loading")));
  try {
    const data = await api(`/api/contacts/${id}`);
    if (mine !== loading) return;
    const same = profile && JSON.stringify(profile) === JSON.stringify(data);
    profile = data;
    if (!same) render(); // an unchanged profile keeps focus and whatever is being typed
  } catch (err) {
    if (mine !== loading) return;
    profile = null;
    body.replaceChildren();
    errorEl.textContent = err.message;
  } finally {
    if (mine === loading) body.setAttribute("aria-busy", "false");
  }
}

// Sends a change and shows the profile the server answers with (or its reason for refusing).
async function send(path, method, payload, errorNode) {
  try {
    profile = await api(path, { method, body: payload });
    render();
    return true;
  } catch (err) {
    (errorNode || errorEl).textContent = err.message;
    return false;
  }
}

function field(label, value, testid) {
  return [el("dt", {}, label), el("dd", { dataset: { testid }, dir: "auto" }, value || t("profile.none"))];
}

function fieldsNode(p) {
  // Where a chat visitor wrote from, without the scheme that every page shares.
  const pages = p.identities.filter((i) => i.page || i.site).map((i) => (i.page || i.site).replace(/^https?:\/\//, ""));
  const dl = el("dl", { class: "profile-fields", dataset: { testid: "profile-fields" } },
    ...field(t("profile.email"), p.emails.join(", "), "profile-email"),
    ...field(t("profile.language"), p.language, "profile-language"),
    ...(p.handles.length ? field(t("profile.handles"), p.handles.join(", "), "profile-handles") : []),
    ...(pages.length ? field(t("profile.page"), pages.join(", "), "profile-page") : []),
    ...field(t("profile.channels"), p.channels.map((c) => t(`inbox.channel.${c}`)).join(", "), "profile-channels"),
    ...field(t("profile.first_contact"), p.first_contact ? longDate(p.first_contact) : "", "profile-first"),
    ...field(t("profile.last_contact"), p.last_contact ? longDate(p.last_contact) : "", "profile-last"));
  return dl;
}

function headNode(p) {
  const edit = el("button", { type: "button", class: "link small", dataset: { testid: "profile-edit" } }, t("profile.edit"));
  edit.addEventListener("click", () => showEditor(p));
  // Nameless: called as the thread and the list call them ("Visitor #12").
  const c = state.selected !== null ? state.conversations.get(state.selected) : null;
  const fallback = c && p.contact_ids.includes(c.contact_id) ? contactLabel(c) : t("inbox.visitor");
  return el("div", { class: "profile-name" }, el("h3", { dir: "auto", dataset: { testid: "profile-name" } }, p.name || fallback), edit);
}

function showEditor(p) {
  const input = (name, value, attrs) => el("input", Object.assign({ name, value: value || "", dir: "auto", autocomplete: "off", dataset: { testid: `profile-input-${name}` } }, attrs));
  const error = el("p", { class: "error small", role: "alert", dataset: { testid: "profile-edit-error" } });
  const cancel = el("button", { type: "button", class: "secondary small-button" }, t("profile.cancel"));
  const ownEmail = p.identities.length ? p.identities[0].email : "";
  const form = el("form", { class: "profile-edit", dataset: { testid: "profile-edit-form" } },
    el("label", {}, t("profile.name"), input("name", p.name, { maxlength: "200" })),
    el("label", {}, t("profile.email"), input("email", ownEmail, { inputmode: "email", maxlength: "254", spellcheck: "false" })),
    el("label", {}, t("profile.language"), input("language", p.language, { maxlength: "3", size: "4" })),
    error,
    el("div", { class: "buttons" }, cancel, el("button", { type: "submit", class: "primary small-button", dataset: { testid: "profile-save" } }, t("profile.save"))));
  cancel.addEventListener("click", () => render());
  form.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.stopPropagation();
      render();
    }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const changes = {};
    for (const [name, before] of [["name", p.name], ["email", ownEmail], ["language", p.language]]) {
      const value = form.elements[name].value.trim();
      if (value !== (before || "")) changes[name] = value;
    }
    if (!Object.keys(changes).length) return render();
    await send(`/api/contacts/${p.id}`, "PATCH", changes, error);
  });
  const head = body.querySelector(".profile-name");
  head.replaceWith(form);
  form.elements.name.focus();
}

function suggestionsNode(p) {
  if (!p.suggestions.length) return null;
  const list = el("ul", { class: "profile-suggestions", dataset: { testid: "profile-suggestions" } });
  for (const s of p.suggestions) {
    const merge = el("button", { type: "button", class: "secondary small-button", dataset: { testid: "profile-merge" } }, t("profile.merge"));
    const item = el("li", { dataset: { testid: "profile-suggestion", profileId: String(s.profile_id) } },
      el("strong", { dir: "auto" }, s.name || t("inbox.visitor")),
      " ", el("span", { class: "muted small" }, s.channels.map((c) => t(`inbox.channel.${c}`)).join(", ")),
      el("p", { class: "small" }, ...tNodes(`profile.suggestion.${s.reason}`, { detail: s.detail })),
      merge);
    merge.addEventListener("click", () => confirmMerge(p, s, item, merge));
    list.append(item);
  }
  return el("section", { class: "profile-section", "aria-labelledby": "profile-sugg-h" }, el("h3", { id: "profile-sugg-h" }, t("profile.suggestions")), list);
}

function confirmMerge(p, s, item, button) {
  const error = el("span", { class: "error small", role: "alert" });
  const yes = el("button", { type: "button", class: "primary small-button", dataset: { testid: "profile-merge-confirm" } }, t("profile.merge_yes"));
  const no = el("button", { type: "button", class: "secondary small-button", dataset: { testid: "profile-merge-cancel" } }, t("profile.cancel"));
  const box = el("div", { class: "confirm small", role: "group", dataset: { testid: "profile-merge-box" } },
    el("p", {}, ...tNodes("profile.merge_confirm", { name: s.name || t("inbox.visitor") })),
    el("div", { class: "buttons" }, yes, no), error);
  button.replaceWith(box);
  yes.focus();
  no.addEventListener("click", () => {
    box.replaceWith(button);
    button.focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    if (!(await send(`/api/contacts/${p.id}/merge`, "POST", { other_id: s.profile_id }, error))) yes.disabled = false;
  });
}

function conversationsNode(p) {
  const list = el("ul", { class: "profile-conversations", dataset: { testid: "profile-conversations" } });
  for (const c of p.conversations) {
    const current = c.id === state.selected;
    const text = c.subject || c.preview || "";
    const button = el("button", { type: "button", class: "profile-conv", "aria-current": current ? "true" : null, dataset: { testid: "profile-conversation", id: String(c.id) } },
      el("span", { class: `tag channel ch-${c.channel}` }, t(`inbox.channel.${c.channel}`)),
      el("span", { class: "small muted office" }, c.office_name),
      el("span", { class: "small muted date" }, when(c.last_message_at)),
      el("span", { class: "text", dir: "auto" }, text),
      el("span", { class: `small status ${c.status}` }, current ? `${t(`inbox.status.${c.status}`)} · ${t("profile.current")}` : t(`inbox.status.${c.status}`)));
    button.addEventListener("click", () => {
      if (isNarrow()) setOpen(false, { focus: false });
      emit("open", c.id);
    });
    list.append(el("li", {}, button));
  }
  const notes = [];
  const more = p.conversations_total - p.conversations.length;
  if (more > 0) notes.push(el("p", { class: "muted small" }, t("profile.more_listed", { count: more })));
  if (p.other_conversations > 0) {
    const key = p.other_conversations === 1 ? "profile.other_hidden" : "profile.others_hidden";
    notes.push(el("p", { class: "muted small", dataset: { testid: "profile-hidden" } }, t(key, { count: p.other_conversations })));
  }
  return el("section", { class: "profile-section", "aria-labelledby": "profile-conv-h" }, el("h3", { id: "profile-conv-h" }, `${t("profile.conversations")} (${p.conversations_total})`), list, ...notes);
}

function eventText(e) {
  const who = e.actor_name || t("profile.someone");
  if (e.kind === "correct") {
    const name = t(`profile.field.${e.field}`);
    return tNodes("profile.event.correct", { who, field: name, old: e.old_value || t("profile.none"), new: e.new_value || t("profile.none") });
  }
  return tNodes(`profile.event.${e.kind}`, { who });
}

function historyNode(p) {
  const list = el("ol", { class: "profile-history", dataset: { testid: "profile-history" } });
  for (const e of p.events) {
    const item = el("li", { dataset: { testid: "profile-event", kind: e.kind } },
      el("span", {}, ...eventText(e)),
      " ", el("time", { class: "muted small", datetime: e.at }, longDate(e.at)));
    if (e.undone_at) item.append(" ", el("span", { class: "tag small" }, t("profile.event.undone")));
    if (e.can_undo) {
      const undo = el("button", { type: "button", class: "link small", dataset: { testid: "profile-undo" } }, t("profile.undo"));
      const error = el("span", { class: "error small", role: "alert" });
      undo.addEventListener("click", async () => {
        undo.disabled = true;
        if (!(await send(`/api/contacts/${p.id}/unmerge`, "POST", { event_id: e.id }, error))) undo.disabled = false;
      });
      item.append(" ", undo, error);
    }
    list.append(item);
  }
  const empty = p.events.length ? null : el("p", { class: "muted small" }, t("profile.history_empty"));
  return el("section", { class: "profile-section", "aria-labelledby": "profile-hist-h" }, el("h3", { id: "profile-hist-h" }, t("profile.history")), empty || list);
}

function render() {
  if (!profile) return;
  const p = profile;
  body.dataset.profileId = String(p.id);
  body.replaceChildren(headNode(p), fieldsNode(p), suggestionsNode(p) || "", conversationsNode(p), historyNode(p));
}

toggle.addEventListener("click", () => setOpen(!isOpen()));
$("profile-close").addEventListener("click", () => setOpen(false));

on("opened", () => {
  if (isOpen()) load();
});
on("leaving", () => {
  if (isOpen() && state.selected === null) load();
});

// A merge, an undone merge or a correction made elsewhere changes the profile shown: read it
// again (once for a burst of events).
on("event:conversation.changed", (frame) => {
  const c = frame.conversation;
  if (!isOpen() || !profile || !c) return;
  if (!profile.contact_ids.includes(c.contact_id) && !profile.contact_ids.includes(c.profile_id)) return;
  scheduleReload();
});

function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    // Never under the adviser's hands: an open editor or confirmation waits for its answer.
    if (body.querySelector(".profile-edit, [data-testid=profile-merge-box]")) scheduleReload();
    else load();
  }, 300);
}

// P opens or closes the panel (never while typing); Esc closes it when focus is inside it or
// when it covers the screen (a phone), before the inbox's own Esc goes back to the list.
document.addEventListener("keydown", (ev) => {
  const active = document.activeElement;
  const typing = active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName) || active.isContentEditable);
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector("dialog[open]")) return;
  if ((ev.key === "p" || ev.key === "P") && state.selected !== null) {
    setOpen(!isOpen());
    ev.preventDefault();
  }
});
window.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape" || !isOpen() || document.querySelector("dialog[open]")) return;
  if (document.activeElement && document.activeElement.closest(".profile-edit")) return; // the editor's own Esc
  if (panel.contains(document.activeElement) || isNarrow()) {
    setOpen(false);
    ev.stopImmediatePropagation();
    ev.preventDefault();
  }
}, true);

let remembered = false;
try {
  remembered = localStorage.getItem(STORE) === "1" && !isNarrow();
} catch (err) {
  remembered = false;
}
if (remembered) setOpen(true, { focus: false });
