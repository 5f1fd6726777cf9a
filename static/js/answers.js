// The answer library page: the create/edit dialog (a tab per language), approving and rejecting
// proposals, deleting with a confirmation. Every write carries the CSRF header; the page is
// reloaded after a write so the server's list (ranking, counts) stays the one truth.
const page = document.querySelector("[data-testid=answers-page]");
const catalog = JSON.parse(document.getElementById("i18n").textContent);
const csrf = document.querySelector("meta[name=csrf-token]").content;
const dialog = page.querySelector("[data-testid=answer-dialog]");
const form = dialog.querySelector("form");
const errorEl = dialog.querySelector("[data-testid=answer-error]");
const notice = page.querySelector("[data-testid=answers-notice]");
const NOTICE_KEY = "concierge.answers.notice";
let editing = null; // the id of the answer being edited, null for a new one

function t(key, params) {
  let text = catalog[key] || key;
  for (const [name, value] of Object.entries(params || {})) text = text.split(`{${name}}`).join(String(value));
  return text;
}

async function call(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json", "X-CSRF-Token": csrf } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`);
  return data;
}

function done(key) {
  sessionStorage.setItem(NOTICE_KEY, key);
  window.location.reload();
}

// ---- language tabs (arrow keys move between them, as a tablist should) --------------------
const tabs = [...dialog.querySelectorAll("[role=tab]")];
function selectTab(tab, focus) {
  for (const other of tabs) {
    const on = other === tab;
    other.setAttribute("aria-selected", String(on));
    other.tabIndex = on ? 0 : -1;
    dialog.querySelector(`#${other.getAttribute("aria-controls")}`).hidden = !on;
  }
  if (focus) tab.focus();
}
function markFilled() {
  for (const tab of tabs) tab.classList.toggle("filled", Boolean(form.elements[`text-${tab.dataset.lang}`].value.trim()));
}
tabs.forEach((tab, i) => {
  tab.addEventListener("click", () => selectTab(tab, false));
  tab.addEventListener("keydown", (ev) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
    if (step) {
      selectTab(tabs[(i + step + tabs.length) % tabs.length], true);
      ev.preventDefault();
    }
  });
});
form.addEventListener("input", markFilled);

function fill(answer) {
  form.elements.title.value = answer ? answer.title : "";
  form.elements.shortcut.value = answer ? answer.shortcut : "";
  form.elements.office_id.value = answer && answer.office_id ? String(answer.office_id) : "";
  form.elements.tags.value = answer ? answer.tags.join(" ") : "";
  for (const tab of tabs) form.elements[`text-${tab.dataset.lang}`].value = (answer && answer.texts && answer.texts[tab.dataset.lang]) || "";
  const first = tabs.find((tab) => answer && answer.texts && answer.texts[tab.dataset.lang]) || tabs[0];
  selectTab(first, false);
  markFilled();
  errorEl.textContent = "";
}

async function openDialog(id) {
  editing = id;
  dialog.querySelector("h2").textContent = id === null ? t("answers.new") : t("answers.edit");
  try {
    fill(id === null ? null : await call("GET", `/api/answers/${id}`));
  } catch (err) {
    return showNotice(err.message);
  }
  dialog.showModal();
  form.elements.title.focus();
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const texts = {};
  for (const tab of tabs) {
    const value = form.elements[`text-${tab.dataset.lang}`].value;
    if (value.trim()) texts[tab.dataset.lang] = value;
  }
  const body = {
    title: form.elements.title.value,
    shortcut: form.elements.shortcut.value,
    office_id: form.elements.office_id.value ? Number(form.elements.office_id.value) : null,
    tags: form.elements.tags.value.split(/\s+/).filter(Boolean),
    texts,
  };
  const save = dialog.querySelector("[data-testid=answer-save]");
  save.disabled = true;
  try {
    const answer = await call(editing === null ? "POST" : "PATCH", editing === null ? "/api/answers" : `/api/answers/${editing}`, body);
    done(answer.status === "proposed" ? "answers.proposed" : "answers.saved");
  } catch (err) {
    errorEl.textContent = err.message;
  } finally {
    save.disabled = false;
  }
});
dialog.querySelector("[data-testid=answer-cancel]").addEventListener("click", () => dialog.close());

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
}

// Deleting asks first, in a dialog of the page (Escape or Cancel keep the answer).
const confirmDialog = page.querySelector("[data-testid=answer-confirm]");
function confirmed(question) {
  confirmDialog.querySelector("[data-testid=answer-confirm-text]").textContent = question;
  confirmDialog.returnValue = "";
  confirmDialog.showModal();
  confirmDialog.querySelector("[data-testid=answer-confirm-cancel]").focus();
  return new Promise((resolve) => confirmDialog.addEventListener("close", () => resolve(confirmDialog.returnValue === "delete"), { once: true }));
}

page.querySelector("[data-testid=answer-new]").addEventListener("click", () => openDialog(null));
page.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-action]");
  if (!button) return;
  const row = button.closest("[data-id]");
  const id = Number(row.dataset.id);
  try {
    if (button.dataset.action === "edit") await openDialog(id);
    else if (button.dataset.action === "approve") {
      await call("PATCH", `/api/answers/${id}`, { status: "approved" });
      done("answers.approved");
    } else if (button.dataset.action === "delete") {
      if (!(await confirmed(t("answers.confirm_delete", { title: row.dataset.title })))) return;
      await call("DELETE", `/api/answers/${id}`);
      done("answers.deleted");
    }
  } catch (err) {
    showNotice(err.message);
  }
});

const left = sessionStorage.getItem(NOTICE_KEY);
if (left) {
  sessionStorage.removeItem(NOTICE_KEY);
  showNotice(t(left));
}
