// Labels in the inbox: the filter next to the tabs, the chips and the "+ Label" menu of the
// open conversation (L opens it; type to filter, arrows move, Enter toggles, Escape closes), the
// bulk bar's add/remove, and the managers' "Manage labels" dialog. Names only ever as text.
import { $, api, el, on, state, t } from "./core.js";
import { chip, priorityFlag } from "./labelchips.js";
import { renderList, setFilter, showListNotice, upsert } from "./list.js";

const labels = { all: [], palette: [], mayManage: false, loaded: false };
state.labelId = null; // the list's label filter (list.js reads it)

// `admin`: rebuild the open "Manage labels" rows too (after the manager's own change only, so a
// live event never wipes a name being typed or a deletion being confirmed).
export async function loadLabels(admin) {
  try {
    const data = await api("/api/labels");
    labels.all = data.labels;
    labels.palette = data.palette;
    labels.mayManage = data.may_manage;
  } catch (err) {
    return;
  }
  const first = !labels.loaded;
  labels.loaded = true;
  renderFilter();
  renderBulk();
  // A dialog opened before the first answer has no colours and no rows yet: fill it now.
  if (admin || first || !dialog || !dialog.open) renderAdmin();
  const c = state.conversations.get(state.selected);
  if (c) renderThread(c);
}

function options(select, first) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "" }, first), ...labels.all.map((l) => el("option", { value: String(l.id) }, l.name)));
  select.value = labels.all.some((l) => String(l.id) === keep) ? keep : "";
}

// --- the list's filter ---------------------------------------------------------------------------

function renderFilter() {
  const select = $("label-filter");
  options(select, t("labels.filter_all"));
  if (state.labelId && !labels.all.some((l) => l.id === state.labelId)) {
    state.labelId = null;
    setFilter(state.filter);
  }
  select.value = state.labelId ? String(state.labelId) : "";
  select.classList.toggle("on", Boolean(state.labelId));
}

$("label-filter").addEventListener("change", (ev) => {
  state.labelId = ev.target.value ? Number(ev.target.value) : null;
  ev.target.classList.toggle("on", Boolean(state.labelId));
  setFilter(state.filter);
});

// --- the open conversation ----------------------------------------------------------------------

const menu = $("label-menu");
const search = $("label-search");
const optionsEl = $("label-options");
const addButton = $("label-add");
let active = 0;

function renderThread(c) {
  $("thread-priority").replaceChildren(...[priorityFlag(c)].filter(Boolean));
  $("thread-label-chips").replaceChildren(
    ...(c.labels || []).map((l) => {
      const node = chip(l);
      if (!c.erased) {
        const remove = el("button", { type: "button", class: "chip-remove", "aria-label": t("labels.remove_one", { name: l.name }), title: t("labels.remove_one", { name: l.name }), dataset: { testid: "label-chip-remove" } }, "×");
        remove.addEventListener("click", () => toggle(l.id, false));
        node.append(remove);
      }
      return node;
    }),
  );
  addButton.hidden = Boolean(c.erased);
  if (!menu.hidden) renderOptions();
}

function fold(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase();
}

function matching() {
  const q = fold(search.value.trim());
  return labels.all.filter((l) => !q || fold(l.name).includes(q));
}

function renderOptions() {
  const c = state.conversations.get(state.selected);
  const on = new Set(((c && c.labels) || []).map((l) => l.id));
  const found = matching();
  active = Math.min(active, Math.max(found.length - 1, 0));
  optionsEl.replaceChildren(
    ...found.map((l, i) => {
      const item = el("li", { role: "option", id: `label-option-${l.id}`, "aria-selected": String(on.has(l.id)), class: i === active ? "active" : null, dataset: { testid: "label-option", labelId: String(l.id) } }, el("span", { class: "check", "aria-hidden": "true" }, on.has(l.id) ? "✓" : ""), chip(l));
      item.addEventListener("mousedown", (ev) => ev.preventDefault()); // keep focus in the search
      item.addEventListener("click", () => toggle(l.id, !on.has(l.id)));
      return item;
    }),
  );
  const current = found[active];
  if (current) search.setAttribute("aria-activedescendant", `label-option-${current.id}`);
  else search.removeAttribute("aria-activedescendant");
  $("label-none").hidden = found.length > 0;
  $("label-none").textContent = labels.all.length ? t("labels.none") : t("labels.no_labels");
  const node = optionsEl.querySelector("li.active");
  if (node) node.scrollIntoView({ block: "nearest" });
}

function openMenu() {
  const c = state.conversations.get(state.selected);
  if (!c || c.erased) return;
  menu.hidden = false;
  // Kept inside the window (a phone's header puts the button near its right edge).
  menu.style.left = "0px";
  const overflow = menu.getBoundingClientRect().right - (document.documentElement.clientWidth - 8);
  if (overflow > 0) menu.style.left = `${-overflow}px`;
  addButton.setAttribute("aria-expanded", "true");
  search.value = "";
  active = 0;
  renderOptions();
  search.focus();
}

function closeMenu(refocus) {
  if (menu.hidden) return;
  menu.hidden = true;
  addButton.setAttribute("aria-expanded", "false");
  if (refocus) addButton.focus();
}

async function toggle(labelId, add) {
  const id = state.selected;
  if (id === null) return;
  try {
    const c = await api(`/api/conversations/${id}/labels/${labelId}`, { method: add ? "POST" : "DELETE", body: {} });
    upsert(c);
  } catch (err) {
    $("reply-error").textContent = err.message;
  }
  if (!menu.hidden) renderOptions();
}

addButton.addEventListener("click", () => (menu.hidden ? openMenu() : closeMenu(true)));
search.addEventListener("input", () => {
  active = 0;
  renderOptions();
});
search.addEventListener("keydown", (ev) => {
  const found = matching();
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    active = (active + (ev.key === "ArrowDown" ? 1 : found.length - 1)) % Math.max(found.length, 1);
    renderOptions();
    ev.preventDefault();
  } else if (ev.key === "Enter") {
    ev.preventDefault();
    const l = found[active];
    const c = state.conversations.get(state.selected);
    if (l && c) toggle(l.id, !(c.labels || []).some((x) => x.id === l.id));
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    ev.stopPropagation();
    closeMenu(true);
  } else if (ev.key === "Tab") {
    closeMenu(false);
  }
});
document.addEventListener("mousedown", (ev) => {
  if (!menu.hidden && !ev.target.closest(".label-picker")) closeMenu(false);
});

on("labels:menu", openMenu);
on("head", renderThread);
on("selected", () => closeMenu(false));

// --- the bulk bar ---------------------------------------------------------------------------------

function renderBulk() {
  options($("bulk-label"), t("labels.bulk_choose"));
}

async function bulk(action) {
  const labelId = Number($("bulk-label").value);
  if (!labelId) {
    $("bulk-label").focus();
    return;
  }
  const ids = [...state.checked];
  const label = labels.all.find((l) => l.id === labelId);
  try {
    const result = await api(`/api/labels/${labelId}/bulk`, { method: "POST", body: { ids, action } });
    showListNotice(t("labels.bulk_done", { label: label ? label.name : "", done: result.done.length, skipped: result.skipped }));
  } catch (err) {
    showListNotice(err.message);
  }
  renderList();
}

$("bulk-label-add").addEventListener("click", () => bulk("add"));
$("bulk-label-remove").addEventListener("click", () => bulk("remove"));

// --- managing the labels (managers) -------------------------------------------------------------

const dialog = $("labels-dialog");

function swatches() {
  const box = $("label-new-color");
  const legend = box.querySelector("legend");
  const chosen = box.querySelector("input:checked");
  const keep = chosen ? chosen.value : labels.palette[0];
  box.replaceChildren(
    legend,
    ...labels.palette.map((color) => {
      const input = el("input", { type: "radio", name: "color", value: color, "aria-label": t("labels.color_pick", { color }), dataset: { testid: "label-swatch" } });
      input.checked = color === keep;
      input.style.setProperty("--label", color);
      return input;
    }),
  );
}

function adminRow(l) {
  const name = el("input", { type: "text", maxlength: "64", value: l.name, dir: "auto", "aria-label": t("labels.name"), dataset: { testid: "label-edit-name" } });
  const color = el("input", { type: "color", value: l.color, "aria-label": t("labels.color"), dataset: { testid: "label-edit-color" } });
  const save = el("button", { type: "button", class: "secondary small-button", dataset: { testid: "label-save" } }, t("labels.save"));
  const remove = el("button", { type: "button", class: "secondary danger small-button", dataset: { testid: "label-delete" } }, t("labels.delete"));
  const confirm = el("p", { class: "confirm small", hidden: true, role: "alert", dataset: { testid: "label-delete-confirm" } });
  const row = el("li", { dataset: { testid: "label-admin-row", labelId: String(l.id) } }, chip(l), name, color, el("span", { class: "small muted used" }, t("labels.used", { count: l.conversations })), save, remove, confirm);
  save.addEventListener("click", () => manage(`/api/labels/${l.id}`, "PATCH", { name: name.value, color: color.value }));
  remove.addEventListener("click", () => {
    const yes = el("button", { type: "button", class: "primary danger-fill small-button", dataset: { testid: "label-delete-yes" } }, t("labels.delete_yes"));
    const no = el("button", { type: "button", class: "secondary small-button" }, t("inbox.cancel"));
    yes.addEventListener("click", () => manage(`/api/labels/${l.id}`, "DELETE"));
    no.addEventListener("click", () => {
      confirm.hidden = true;
      remove.focus();
    });
    confirm.replaceChildren(t("labels.delete_confirm", { name: l.name, count: l.conversations }), " ", yes, " ", no);
    confirm.hidden = false;
    yes.focus();
  });
  return row;
}

function renderAdmin() {
  if (!dialog) return;
  swatches();
  $("label-admin").replaceChildren(...labels.all.map(adminRow));
}

async function manage(path, method, body) {
  $("labels-error").textContent = "";
  try {
    await api(path, { method, body: body || {} });
  } catch (err) {
    $("labels-error").textContent = err.message;
    return false;
  }
  await loadLabels(true);
  if (state.labelId || method === "DELETE") setFilter(state.filter);
  return true;
}

if (dialog) {
  $("labels-manage").addEventListener("click", () => {
    if (!labels.loaded) loadLabels();
    renderAdmin();
    $("labels-error").textContent = "";
    dialog.showModal();
    $("label-new-name").focus();
  });
  $("labels-close").addEventListener("click", () => dialog.close());
  $("label-create").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const picked = $("label-new-color").querySelector("input:checked");
    const ok = await manage("/api/labels", "POST", { name: $("label-new-name").value, color: picked ? picked.value : labels.palette[0] });
    if (ok) {
      $("label-new-name").value = "";
      $("label-new-name").focus();
    }
  });
}

// A label's chip changes with the conversation (conversation.changed); the catalogue of labels
// is read again when one appears that this page does not know yet.
on("conversation", (c) => {
  if ((c.labels || []).some((l) => !labels.all.some((x) => x.id === l.id && x.name === l.name && x.color === l.color))) loadLabels();
});

loadLabels();
