// Colleagues in view: my own online/away state, who else is viewing or typing in a
// conversation, and the frames that tell them about me. All of it is ephemeral.
import { $, api, contactLabel, me, on, state, t } from "./core.js";
import { renderList } from "./list.js";
import { renderTyping, renderViewers } from "./thread.js";

const select = $("presence");
const TYPING_EVERY = 2000; // ms between two "typing" frames
const TYPING_IDLE = 5000; // ms without a key before "stopped typing"
let typingSentAt = 0;
let typingFor = null;
let typingIdle = null;

export function sendFrame(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

export async function loadColleagues() {
  try {
    state.colleagues = await api("/api/colleagues");
  } catch (err) {
    state.colleagues = [];
  }
}

async function loadPresence() {
  try {
    const data = await api("/api/me/presence");
    select.value = data.status === "away" ? "away" : "online";
  } catch (err) {
    /* keep the default */
  }
}

select.addEventListener("change", async () => {
  const wanted = select.value;
  try {
    const data = await api("/api/me/presence", { method: "POST", body: { status: wanted } });
    select.value = data.status;
  } catch (err) {
    select.value = wanted === "away" ? "online" : "away";
  }
});

function stopTyping() {
  if (typingFor !== null) sendFrame({ type: "typing", conversation_id: typingFor, active: false });
  typingFor = null;
  typingSentAt = 0;
  clearTimeout(typingIdle);
}

on("typing", (id) => {
  if (id === null) return;
  if (typingFor !== null && typingFor !== id) stopTyping();
  const now = Date.now();
  if (now - typingSentAt >= TYPING_EVERY) {
    sendFrame({ type: "typing", conversation_id: id, active: true });
    typingSentAt = now;
  }
  typingFor = id;
  clearTimeout(typingIdle);
  typingIdle = setTimeout(stopTyping, TYPING_IDLE);
});
on("sent", stopTyping);
on("leaving", () => stopTyping());

// Viewing: said on open, refreshed while the thread stays open, withdrawn on leaving.
on("selected", (id) => sendFrame({ type: "viewing", conversation_id: id }));
on("leaving", (id) => {
  if (id !== null && id !== undefined) sendFrame({ type: "viewing", conversation_id: null });
});
setInterval(() => {
  if (state.selected !== null && document.visibilityState === "visible") sendFrame({ type: "viewing", conversation_id: state.selected });
}, 20_000);
on("connected", () => {
  if (state.selected !== null) sendFrame({ type: "viewing", conversation_id: state.selected });
});

on("event:viewing", (frame) => {
  if (frame.user_id === me.id) return;
  const viewers = state.viewers.get(frame.conversation_id) || new Map();
  if (frame.active) viewers.set(frame.user_id, frame.name);
  else viewers.delete(frame.user_id);
  state.viewers.set(frame.conversation_id, viewers);
  if (frame.conversation_id === state.selected) renderViewers();
});

on("event:typing", (frame) => {
  if (frame.side === "adviser" && frame.user_id === me.id) return;
  if (frame.active) {
    const c = state.conversations.get(frame.conversation_id);
    const name = frame.side === "visitor" ? (c ? contactLabel(c) : t("inbox.visitor")) : frame.name;
    state.typing.set(frame.conversation_id, { name, side: frame.side, userId: frame.user_id, until: Date.now() + 6000 });
  } else {
    state.typing.delete(frame.conversation_id);
  }
  if (frame.conversation_id === state.selected) renderTyping();
});

on("event:visitor.presence", (frame) => {
  state.live.set(frame.conversation_id, Boolean(frame.live));
  renderList();
});

on("event:presence.changed", (frame) => {
  const colleague = state.colleagues.find((u) => u.id === frame.user_id);
  if (colleague) colleague.status = frame.status;
  if (frame.user_id === me.id && (frame.status === "online" || frame.status === "away")) select.value = frame.status;
});

loadPresence();
