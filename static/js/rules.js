// The managers' keyword rules page: the list in evaluation order (switch on/off, move up/down,
// edit, delete with confirmation), the form, and the trial on the last 30 days.
// Every name and word is inserted as text (textContent), never as HTML.

const data = JSON.parse(document.getElementById("rules-data").textContent);
const catalog = JSON.parse(document.getElementById("i18n").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const list = byTestId("rules-list");
const empty = byTestId("rules-empty");
const notice = byTestId("rules-notice");
const form = byTestId("rule-form");
const formTitle = byTestId("rule-form-title");
const errorBox = byTestId("rule-error");
const trialBox = byTestId("rule-trial");
const officeSelect = byTestId("rule-office");
const adviserSelect = byTestId("rule-adviser");
const dialog = byTestId("rule-delete-dialog");
const number = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-GB" : "fr-FR");

const names = (items) => new Map(items.map((x) => [x.id, x.name]));
const labels = names(data.labels);
const offices = names(data.offices);
const advisers = names(data.advisers);
let rules = [];

function t(key, params = {}) {
  const text = catalog[key] || key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "testid") node.dataset.testid = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function call(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrf-token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error((payload && payload.detail) || response.statusText);
  return payload;
}

function say(text) {
  notice.textContent = text;
  notice.hidden = false;
}

function actionsOf(rule) {
  const parts = [];
  if (rule.label_id) parts.push(t("rules.action_label", { name: labels.get(rule.label_id) || "?" }));
  if (rule.office_id) parts.push(t("rules.action_office", { name: offices.get(rule.office_id) || "?" }));
  if (rule.adviser_id) parts.push(t("rules.action_adviser", { name: advisers.get(rule.adviser_id) || "?" }));
  if (rule.priority) parts.push(t("rules.action_priority"));
  return parts;
}

function ruleItem(rule, index) {
  const editable = rule.editable;
  const toggle = el("button", {
    type: "button", role: "switch", class: "switch", testid: "rule-active",
    "aria-checked": String(rule.active), disabled: !editable,
    "aria-label": `${rule.active ? t("rules.switch_off") : t("rules.switch_on")} — ${rule.name}`,
  }, el("span", { class: "switch-knob", "aria-hidden": "true" }), el("span", { text: t("rules.active") }));
  toggle.addEventListener("click", () => update(rule, { active: !rule.active }, rule.active ? "rules.switched_off" : "rules.switched_on"));
  const words = el("ul", { class: "chips", testid: "rule-words-shown" }, ...rule.words.map((w) => el("li", { dir: "auto", text: w })));
  const tools = el("div", { class: "rule-tools" });
  if (editable) {
    const up = el("button", { type: "button", class: "secondary icon", testid: "rule-up", "aria-label": t("rules.up", { name: rule.name }), disabled: index === 0 }, "↑");
    const down = el("button", { type: "button", class: "secondary icon", testid: "rule-down", "aria-label": t("rules.down", { name: rule.name }), disabled: index === rules.length - 1 }, "↓");
    up.addEventListener("click", () => move(rule, index - 1, "rule-up"));
    down.addEventListener("click", () => move(rule, index + 1, "rule-down"));
    const edit = el("button", { type: "button", class: "secondary", testid: "rule-edit" }, t("rules.edit"));
    edit.addEventListener("click", () => startEditing(rule));
    const remove = el("button", { type: "button", class: "danger", testid: "rule-delete" }, t("rules.delete"));
    remove.addEventListener("click", () => confirmDelete(rule));
    tools.append(up, down, edit, remove);
  } else {
    tools.append(el("span", { class: "muted small", text: t("rules.read_only") }));
  }
  return el(
    "li",
    { class: `rule${rule.active ? " on" : ""}`, testid: "rule", "data-id": String(rule.id) },
    el("div", { class: "rule-head" },
      el("span", { class: "rule-position", "aria-hidden": "true", text: String(index + 1) }),
      el("strong", { class: "rule-name", dir: "auto", testid: "rule-title", text: rule.name }),
      toggle),
    words,
    el("p", { class: "rule-actions small", testid: "rule-actions", text: actionsOf(rule).join(" · ") }),
    el("p", { class: "muted small", testid: "rule-matched", text: t("rules.matched", { n: number.format(rule.matched) }) }),
    tools,
  );
}

function render(focus) {
  list.replaceChildren(...rules.map(ruleItem));
  empty.hidden = rules.length > 0;
  if (focus) {
    const target = list.querySelector(`[data-id="${focus.id}"] [data-testid="${focus.testid}"]`);
    (target && !target.disabled ? target : list.querySelector(`[data-id="${focus.id}"] [data-testid="rule-edit"]`))?.focus();
  }
}

async function load(focus) {
  rules = await call("GET", "/api/rules");
  render(focus);
}

async function update(rule, changes, saidKey, focusId = "rule-active") {
  try {
    const saved = await call("PATCH", `/api/rules/${rule.id}`, changes);
    if (saidKey) say(t(saidKey, { name: saved.name }));
    await load({ id: rule.id, testid: focusId });
  } catch (error) {
    say(error.message);
  }
}

function move(rule, position, testid) {
  if (position < 0 || position >= rules.length) return;
  update(rule, { position }, null, testid);
}

function confirmDelete(rule) {
  byTestId("rule-delete-text").textContent = t("rules.confirm_delete", { name: rule.name });
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "delete") return;
    try {
      await call("DELETE", `/api/rules/${rule.id}`);
      say(t("rules.deleted", { name: rule.name }));
      if (form.elements.id.value === String(rule.id)) resetForm();
      await load();
    } catch (error) {
      say(error.message);
    }
  };
  dialog.showModal();
  byTestId("rule-delete-cancel").focus();
}

// The adviser list follows the office chosen: only that office's advisers are offered.
function filterAdvisers() {
  const office = officeSelect.value;
  for (const option of adviserSelect.options) {
    if (!option.value) continue;
    option.hidden = Boolean(office) && option.dataset.office !== office;
    option.disabled = option.hidden;
  }
  if (adviserSelect.selectedOptions[0]?.disabled) adviserSelect.value = "";
}
officeSelect.addEventListener("change", filterAdvisers);

function wordsOf() {
  return form.elements.words.value.split("\n").map((w) => w.trim()).filter(Boolean);
}

function bodyOf() {
  const id = (name) => (form.elements[name].value ? Number(form.elements[name].value) : null);
  return {
    name: form.elements.name.value,
    words: wordsOf(),
    label_id: id("label_id"),
    office_id: id("office_id"),
    adviser_id: id("adviser_id"),
    priority: form.elements.priority.checked,
  };
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function resetForm() {
  form.reset();
  form.elements.id.value = "";
  formTitle.textContent = t("rules.new");
  trialBox.hidden = true;
  showError("");
  filterAdvisers();
}

function startEditing(rule) {
  resetForm();
  form.elements.id.value = String(rule.id);
  form.elements.name.value = rule.name;
  form.elements.words.value = rule.words.join("\n");
  form.elements.label_id.value = rule.label_id ? String(rule.label_id) : "";
  form.elements.office_id.value = rule.office_id ? String(rule.office_id) : "";
  filterAdvisers();
  form.elements.adviser_id.value = rule.adviser_id ? String(rule.adviser_id) : "";
  form.elements.priority.checked = rule.priority;
  formTitle.textContent = t("rules.edit_title");
  form.elements.name.focus();
  form.scrollIntoView({ block: "nearest" });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = form.elements.id.value;
  try {
    const saved = id ? await call("PATCH", `/api/rules/${id}`, bodyOf()) : await call("POST", "/api/rules", bodyOf());
    say(t("rules.saved", { name: saved.name }));
    resetForm();
    await load({ id: saved.id, testid: "rule-active" });
  } catch (error) {
    showError(error.message);
    form.elements.name.focus();
  }
});

byTestId("rule-try").addEventListener("click", async () => {
  const count = byTestId("trial-count");
  const examples = byTestId("trial-examples");
  trialBox.hidden = false;
  count.textContent = t("rules.trying");
  examples.replaceChildren();
  try {
    const result = await call("POST", "/api/rules/try", { words: wordsOf() });
    showError("");
    count.textContent = t("rules.trial_result", {
      matched: number.format(result.matched), conversations: number.format(result.conversations), days: result.days,
    });
    trialBox.querySelector(".trial-examples-title").hidden = result.examples.length === 0;
    examples.replaceChildren(...result.examples.map((e) => el("li", {},
      el("a", { href: `/inbox#c${e.conversation_id}`, "aria-label": t("rules.trial_open", { id: e.conversation_id }) }, `#${e.conversation_id}`),
      " ",
      el("span", { dir: "auto", testid: "trial-snippet", text: e.snippet }))));
    trialBox.scrollIntoView({ block: "nearest" }); // the answer is in sight, not below the fold
  } catch (error) {
    trialBox.hidden = true;
    showError(error.message);
  }
});

byTestId("rule-cancel").addEventListener("click", resetForm);
form.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && form.elements.id.value) resetForm();
});

filterAdvisers();
load();
