// Moving conversations: take, assign to a named colleague, transfer to another office (each
// office shown on duty or not, with how many colleagues are online), resolve — one at a time
// or several at once.
import { $, api, el, me, number, state, t } from "./core.js";
import { loadColleagues } from "./presence.js";
import { renderList, showListNotice, upsert } from "./list.js";

const transferDialog = $("transfer-dialog");
const assignDialog = $("assign-dialog");
let targets = []; // the conversation ids the open dialog acts on

function selectedIds() {
  return state.selected === null ? [] : [state.selected];
}

export async function toggleStatus() {
  if (state.selected === null) return;
  const next = $("toggle-status").dataset.next;
  try {
    upsert(await api(`/api/conversations/${state.selected}/status`, { method: "POST", body: { status: next } }));
  } catch (err) {
    $("reply-error").textContent = err.message;
  }
}

export async function take() {
  if (state.selected === null) return;
  try {
    upsert(await api(`/api/conversations/${state.selected}/take`, { method: "POST", body: {} }));
  } catch (err) {
    $("reply-error").textContent = err.message;
  }
}

export async function openTransfer(ids) {
  targets = ids || selectedIds();
  if (!targets.length) return;
  $("transfer-error").textContent = "";
  let offices;
  try {
    offices = await api("/api/offices");
  } catch (err) {
    $("reply-error").textContent = err.message;
    return;
  }
  const current = targets.length === 1 ? state.conversations.get(targets[0]) : null;
  const choices = offices.filter((o) => !current || o.id !== current.office_id);
  $("transfer-office").replaceChildren(...choices.map((o) => el("option", { value: String(o.id) }, o.name)));
  const onDuty = choices.find((o) => o.on_duty);
  if (onDuty) $("transfer-office").value = String(onDuty.id);
  $("transfer-offices").tBodies[0].replaceChildren(
    ...offices.map((o) =>
      el(
        "tr",
        { dataset: { testid: "transfer-office-row", id: String(o.id), onDuty: String(Boolean(o.on_duty)) } },
        el("th", { scope: "row" }, o.name),
        el("td", { class: o.on_duty ? "on" : "muted" }, o.on_duty ? t("inbox.on_duty") : t("inbox.off_duty")),
        el("td", {}, t("inbox.online_count", { count: number(o.online || 0) }) + (o.away ? ` · ${t("inbox.away_count", { count: number(o.away) })}` : "")),
      ),
    ),
  );
  transferDialog.showModal();
  $("transfer-office").focus();
}

export async function openAssign(ids) {
  targets = ids || selectedIds();
  if (!targets.length) return;
  $("assign-error").textContent = "";
  await loadColleagues();
  const offices = new Set(targets.map((id) => (state.conversations.get(id) || {}).office_id));
  const eligible = state.colleagues.filter((u) => u.role !== "destination_manager" ? offices.size === 1 && offices.has(u.office_id) : true);
  const status = (u) => t(`inbox.presence.${u.status || "offline"}`);
  $("assign-user").replaceChildren(
    el("option", { value: "" }, t("inbox.assign_queue")),
    ...eligible.map((u) => el("option", { value: String(u.id) }, `${u.name}${u.id === me.id ? ` (${t("inbox.me")})` : ""} — ${status(u)} · ${t("inbox.open_count", { count: number(u.open || 0) })}`)),
  );
  const first = eligible.find((u) => u.status === "online" && u.id !== me.id);
  if (first) $("assign-user").value = String(first.id);
  assignDialog.showModal();
  $("assign-user").focus();
}

async function bulk(action, extra) {
  const ids = [...targets];
  const result = await api("/api/conversations/bulk", { method: "POST", body: Object.assign({ ids, action }, extra) });
  for (const id of result.done) state.checked.delete(id);
  showListNotice(t("inbox.bulk_result", { done: result.done.length, skipped: result.skipped }));
  renderList();
  return result;
}

$("transfer-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { office_id: Number($("transfer-office").value), note: $("transfer-note").value };
  try {
    if (targets.length === 1 && !state.checked.size) {
      upsert(await api(`/api/conversations/${targets[0]}/transfer`, { method: "POST", body }));
    } else {
      await bulk("transfer", body);
    }
    transferDialog.close();
    $("transfer-note").value = "";
  } catch (err) {
    $("transfer-error").textContent = err.message;
  }
});

$("assign-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const value = $("assign-user").value;
  const userId = value === "" ? null : Number(value);
  try {
    if (targets.length === 1 && !state.checked.size) {
      upsert(await api(`/api/conversations/${targets[0]}/assign`, { method: "POST", body: { user_id: userId } }));
    } else {
      await bulk("assign", { user_id: userId });
    }
    assignDialog.close();
  } catch (err) {
    $("assign-error").textContent = err.message;
  }
});

$("transfer-cancel").addEventListener("click", () => transferDialog.close());
$("assign-cancel").addEventListener("click", () => assignDialog.close());
$("transfer").addEventListener("click", () => openTransfer());
$("assign").addEventListener("click", () => openAssign());
$("toggle-status").addEventListener("click", toggleStatus);
$("take").addEventListener("click", take);
$("bulk-resolve").addEventListener("click", async () => {
  targets = [...state.checked];
  try {
    await bulk("resolve", {});
  } catch (err) {
    showListNotice(err.message);
  }
});
$("bulk-assign").addEventListener("click", () => openAssign([...state.checked]));
$("bulk-transfer").addEventListener("click", () => openTransfer([...state.checked]));
