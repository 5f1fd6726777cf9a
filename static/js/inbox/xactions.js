// Actions on X under a visitor's public tweet: like, hide the reply (and undo both), and move
// the conversation to direct messages with an editable public invitation. Native buttons, so
// they are reached with Tab and pressed with Enter or Space; the state is aria-pressed.
import { api, el, state, t } from "./core.js";

// The inbox draws a changed message anew (message.status): the button the adviser pressed gets
// the keyboard focus back on the new drawing.
let refocus = null;

function conversationOf(m) {
  return state.conversations.get(m.conversation_id);
}

// The buttons' state follows what the server stored (the returned message, or a later refresh).
function paint(bar, details) {
  const like = bar.querySelector("[data-testid=x-like]");
  const hide = bar.querySelector("[data-testid=x-hide]");
  like.setAttribute("aria-pressed", details.liked ? "true" : "false");
  like.textContent = t(details.liked ? "x.unlike" : "x.like");
  hide.setAttribute("aria-pressed", details.hidden ? "true" : "false");
  hide.textContent = t(details.hidden ? "x.unhide" : "x.hide");
  // What is true on X now, for a pointer's tooltip (the pressed state says it to a reader).
  like.title = details.liked ? t("x.liked") : "";
  hide.title = details.hidden ? t("x.hidden") : "";
}

async function toggle(bar, m, action, key, button) {
  const error = bar.querySelector("[data-testid=x-error]");
  const on = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  error.textContent = "";
  try {
    const updated = await api(`/api/conversations/${m.conversation_id}/messages/${m.id}/x/${action}`, { method: "POST", body: { [key]: on } });
    paint(bar, updated.details || {});
    refocus = { id: m.id, testid: button.dataset.testid };
  } catch (err) {
    error.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

function moveForm(bar, m) {
  const error = bar.querySelector("[data-testid=x-error]");
  const field = el("textarea", { rows: "3", maxlength: "1000", dir: "auto", "aria-label": t("x.move_to_dm.label"), dataset: { testid: "x-invitation" } });
  const send = el("button", { type: "submit", dataset: { testid: "x-move-send" } }, t("x.move_to_dm.send"));
  const cancel = el("button", { type: "button", class: "link", dataset: { testid: "x-move-cancel" } }, t("x.move_to_dm.cancel"));
  const form = el("form", { class: "x-move", dataset: { testid: "x-move-form" } }, el("label", {}, t("x.move_to_dm.label"), field), send, " ", cancel);
  cancel.addEventListener("click", () => {
    form.remove();
    bar.querySelector("[data-testid=x-move]").focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    error.textContent = "";
    try {
      await api(`/api/conversations/${m.conversation_id}/x/move-to-dm`, { method: "POST", body: { text: field.value } });
      form.remove();
      bar.querySelector("[data-testid=x-move]").hidden = true;
      error.textContent = t("x.move_to_dm.done");
    } catch (err) {
      error.textContent = err.message;
      send.disabled = false;
    }
  });
  api(`/api/conversations/${m.conversation_id}/x/move-to-dm`)
    .then((data) => {
      if (!field.value) field.value = data.text || "";
      field.focus();
    })
    .catch((err) => {
      error.textContent = err.message;
    });
  return form;
}

// The actions bar of one message, or null where none applies (not a visitor's public tweet).
export function xActionsNode(m) {
  const c = conversationOf(m);
  const details = m.details || {};
  if (!c || c.channel !== "twitter" || m.direction !== "in" || details.dm || m.erased) return null;
  if (c.erased || c.spam) return null;
  const like = el("button", { type: "button", class: "link", dataset: { testid: "x-like" } });
  const hide = el("button", { type: "button", class: "link", dataset: { testid: "x-hide" } });
  const move = el("button", { type: "button", class: "link", hidden: Boolean(c.direct), dataset: { testid: "x-move" } }, t("x.move_to_dm"));
  const error = el("span", { class: "muted", role: "status", dataset: { testid: "x-error" } });
  const bar = el("div", { class: "x-actions", role: "group", "aria-label": t("x.actions"), dataset: { testid: "x-actions" } }, like, " · ", hide, " · ", move, " ", error);
  paint(bar, details);
  if (refocus && refocus.id === m.id) {
    const target = bar.querySelector(`[data-testid=${refocus.testid}]`);
    requestAnimationFrame(() => {
      const lost = !document.activeElement || document.activeElement === document.body;
      if (bar.isConnected && lost) {
        target.focus();
        refocus = null;
      }
    });
  }
  like.addEventListener("click", () => toggle(bar, m, "like", "liked", like));
  hide.addEventListener("click", () => toggle(bar, m, "hide", "hidden", hide));
  move.addEventListener("click", () => {
    if (!bar.querySelector("[data-testid=x-move-form]")) bar.append(moveForm(bar, m));
  });
  return bar;
}
