// Managers stop abuse: mark a conversation as spam (or restore it), block its sender or its
// chat visitor's address, and lift blocks. Every change is confirmed in a dialog first. The
// menu exists in the page for managers only; the server checks the role again on each call.
import { $, api, contactLabel, el, on, state, t, when } from "./core.js";
import { renderList, showListNotice, upsert } from "./list.js";

const menu = $("moderate");
const spamDialog = $("spam-dialog");
const blockDialog = $("block-dialog");
const blocksDialog = $("blocks-dialog");
let blockTarget = "sender"; // what the open block dialog blocks: "sender" or "ip"

function current() {
  return state.selected === null ? null : state.conversations.get(state.selected);
}

function senderLabel(c) {
  if (c.channel === "webchat") return t("moderation.block_visitor");
  return c.channel === "email" ? t("moderation.block_address") : t("moderation.block_account");
}

function notice(text) {
  const node = $("thread-notice");
  node.textContent = text;
  node.hidden = !text;
}

// The thread's header follows the conversation: a spam conversation says so, offers only
// "restore", and nobody answers, assigns or moves it until then.
on("head", (c) => {
  $("spam-banner").hidden = !c.spam;
  for (const id of ["toggle-status", "transfer", "assign", "take", "composer"]) {
    if (c.spam && $(id)) $(id).hidden = true;
  }
  if (!menu) return;
  menu.hidden = Boolean(c.erased);
  $("mark-spam").hidden = Boolean(c.spam);
  $("not-spam").hidden = !c.spam;
  $("block-sender").textContent = senderLabel(c);
  $("block-ip").hidden = c.channel !== "webchat";
});

async function markSpam(id, spam) {
  upsert(await api(`/api/conversations/${id}/spam`, { method: "POST", body: { spam } }));
}

function closeMenu() {
  if (menu) menu.open = false;
}

if (menu) {
  $("mark-spam").addEventListener("click", () => {
    closeMenu();
    $("spam-error").textContent = "";
    spamDialog.showModal();
    $("spam-confirm").focus();
  });
  $("not-spam").addEventListener("click", async () => {
    closeMenu();
    const c = current();
    if (!c) return;
    try {
      await markSpam(c.id, false);
      notice(t("moderation.restored"));
    } catch (err) {
      notice(err.message);
    }
  });
  for (const [id, target] of [["block-sender", "sender"], ["block-ip", "ip"]]) {
    $(id).addEventListener("click", () => {
      closeMenu();
      const c = current();
      if (!c) return;
      blockTarget = target;
      const who = target === "ip" ? t("moderation.kind.ip").toLowerCase() : contactLabel(c);
      $("block-heading").textContent = t("moderation.block_heading", { who });
      $("block-text").textContent = t(target === "ip" ? "moderation.block_text_ip" : `moderation.block_text_${c.channel}`);
      $("block-error").textContent = "";
      $("block-reason").value = "";
      $("block-also-spam").checked = !c.spam;
      $("block-also-spam").closest("label").hidden = Boolean(c.spam);
      blockDialog.showModal();
      $("block-duration").focus();
    });
  }
  $("spam-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const c = current();
    if (!c) return spamDialog.close();
    try {
      await markSpam(c.id, true);
      spamDialog.close();
      notice(t("moderation.marked"));
    } catch (err) {
      $("spam-error").textContent = err.message;
    }
  });
  $("block-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const c = current();
    if (!c) return blockDialog.close();
    const body = { target: blockTarget, duration: $("block-duration").value, reason: $("block-reason").value };
    try {
      await api(`/api/conversations/${c.id}/block`, { method: "POST", body });
      if ($("block-also-spam").checked && !c.spam) await markSpam(c.id, true);
      blockDialog.close();
      notice(t("moderation.blocked"));
    } catch (err) {
      $("block-error").textContent = err.message;
    }
  });
  $("spam-cancel").addEventListener("click", () => spamDialog.close());
  $("block-cancel").addEventListener("click", () => blockDialog.close());
  // A click elsewhere closes the menu, like any menu.
  document.addEventListener("click", (ev) => {
    if (menu.open && !menu.contains(ev.target)) closeMenu();
  });
  menu.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      closeMenu();
      $("moderate-open").focus();
    }
  });
}

// ---- the blocks in force, liftable ------------------------------------------------------------
function blockRow(b) {
  const kind = b.kind === "ip" ? t("moderation.kind.ip") : t(`moderation.kind.${b.channel}`);
  const until = b.expires_at ? t("moderation.until", { when: when(b.expires_at) }) : t("moderation.forever");
  const lift = el("button", { type: "button", class: "secondary small-button", dataset: { testid: "block-lift" } }, t("moderation.lift"));
  lift.addEventListener("click", async () => {
    try {
      await api(`/api/moderation/blocks/${b.id}`, { method: "DELETE", body: {} }); // a body carries the CSRF header
      showListNotice(t("moderation.lifted"));
      await renderBlocks();
    } catch (err) {
      $("blocks-error").textContent = err.message;
    }
  });
  return el(
    "li",
    { dataset: { testid: "block-item", id: String(b.id) } },
    el("span", { class: "who", dir: "auto" }, b.label || `${t("inbox.visitor")} #${b.conversation_id}`),
    el("span", { class: "muted small" }, [kind, until, b.created_by_name ? t("moderation.by", { who: b.created_by_name }) : ""].filter(Boolean).join(" · ")),
    b.reason ? el("span", { class: "small reason", dir: "auto" }, b.reason) : null,
    lift,
  );
}

async function renderBlocks() {
  $("blocks-error").textContent = "";
  const rows = await api("/api/moderation/blocks");
  $("block-list").replaceChildren(...rows.map(blockRow));
  $("blocks-empty").hidden = rows.length > 0;
}

if (blocksDialog) {
  $("blocks-open").addEventListener("click", async () => {
    blocksDialog.showModal();
    try {
      await renderBlocks();
    } catch (err) {
      $("blocks-error").textContent = err.message;
    }
  });
  $("blocks-close").addEventListener("click", () => blocksDialog.close());
}

// ---- many at once, from the list's selection ----------------------------------------------
async function bulkSpam(action) {
  const ids = [...state.checked];
  try {
    const result = await api("/api/conversations/bulk", { method: "POST", body: { ids, action } });
    for (const id of result.done) state.checked.delete(id);
    showListNotice(t("inbox.bulk_result", { done: result.done.length, skipped: result.skipped }));
    renderList();
  } catch (err) {
    showListNotice(err.message);
  }
}

if ($("bulk-spam")) {
  $("bulk-spam").addEventListener("click", () => bulkSpam("spam"));
  $("bulk-not-spam").addEventListener("click", () => bulkSpam("not_spam"));
  // In the Spam view the selection is restored, elsewhere it is sent to spam.
  on("listRendered", () => {
    $("bulk-spam").hidden = state.filter === "spam";
    $("bulk-not-spam").hidden = state.filter !== "spam";
    for (const id of ["bulk-resolve", "bulk-assign", "bulk-transfer"]) $(id).hidden = state.filter === "spam";
  });
}
