// Concierge adviser inbox: wires the modules together and dispatches every server event on
// its `type` in one place.
import { $, api, emit, me, on, state, t } from "./core.js";
import { refreshDuty } from "./alerts.js";
import "./composer.js";
import "./dialogs.js";
import "./keyboard.js";
import "./moderation.js";
import "./answers.js";
import "./labels.js";
import "./profile.js";
import "./search.js";
import { drop, loadList, refreshCounts, renderList, upsert } from "./list.js";
import { loadColleagues } from "./presence.js";
import { connect } from "./socket.js";
import { appendActivity, appendMessage, applyStatus, markRead, open } from "./thread.js";

function dispatch(frame) {
  switch (frame.type) {
    case "resync":
      state.conversations.clear();
      loadList(false);
      if (state.selected !== null) open(state.selected);
      break;
    case "conversation.changed":
      upsert(frame.conversation);
      break;
    case "conversation.left":
      if (me.officeId !== null && frame.office_id === me.officeId) drop(frame.conversation_id);
      break;
    case "message.created":
      if (frame.conversation_id === state.selected) {
        appendMessage(frame.message);
        if (frame.message.direction === "in") markRead(frame.conversation_id);
        if (frame.message.direction === "in") state.typing.delete(frame.conversation_id);
      }
      break;
    case "activity.created":
      if (frame.conversation_id !== state.selected) break;
      // Erased by someone else (the visitor, another manager, "do not keep"): its words go
      // from view now. One's own erasure reloads the thread itself (and says so).
      if (frame.activity.kind.startsWith("erased") && frame.activity.actor_id !== me.id) open(state.selected);
      else appendActivity(frame.activity);
      break;
    case "message.status":
      if (frame.conversation_id === state.selected) applyStatus(frame);
      break;
    case "error":
      break;
    default:
      break;
  }
  emit(`event:${frame.type}`, frame);
}

// Erasure (managers): confirmed inline, then the thread shows what is left.
if ($("erase-visitor")) {
  $("erase-visitor").addEventListener("click", () => {
    $("erase-form").hidden = false;
    $("erase-confirm").focus();
  });
  $("erase-cancel").addEventListener("click", () => {
    $("erase-form").hidden = true;
  });
  $("erase-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = state.selected;
    if (id === null) return;
    try {
      const result = await api(`/api/conversations/${id}/erase-visitor`, { method: "POST", body: {} });
      $("erase-form").hidden = true;
      await open(id);
      const notice = $("thread-notice");
      notice.textContent = t("inbox.erased", { count: result.conversations });
      notice.hidden = false;
    } catch (err) {
      $("reply-error").textContent = err.message;
    }
  });
}

// A reading adviser's unread count drops when they come back to the open conversation.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.selected !== null) {
    const c = state.conversations.get(state.selected);
    if (c && c.unread > 0) markRead(state.selected);
  }
});

on("connected", (first) => {
  if (first) {
    loadList(false);
    refreshDuty();
  } else {
    refreshCounts();
  }
});

on("open", (id) => open(id));

const deepLink = /^#c(\d+)$/.exec(location.hash);
loadColleagues();
renderList();
connect(dispatch);
if (deepLink) open(Number(deepLink[1]), true);
