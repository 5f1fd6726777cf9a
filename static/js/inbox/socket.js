// The live connection: resumes from the last event id after a drop, without gap or duplicate.
import { $, emit, state, t } from "./core.js";

const liveEl = $("live-status");

// Frames sent that await their answer (a reply's outcome), by client id.
const awaiting = new Map(); // client_id -> {resolve, reject, timer}

function settle(clientId, error, frame) {
  const waiting = awaiting.get(clientId);
  if (!waiting) return;
  awaiting.delete(clientId);
  clearTimeout(waiting.timer);
  if (error) waiting.reject(error);
  else waiting.resolve(frame);
}

// Sends ``frame`` (with its client_id) and resolves with the frame answering it; rejects when
// the socket is not open, closes first or says nothing within ``ms`` (the caller then uses
// HTTP, with the same client id).
export function request(frame, ms) {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error("offline"));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(frame.client_id, new Error("timeout")), ms);
    awaiting.set(frame.client_id, { resolve, reject, timer });
    socket.send(JSON.stringify(frame));
  });
}

export function connect(dispatch) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // Events that wait together come in one frame, as an array (docs/api.md, "batch").
  const params = new URLSearchParams({ batch: "1" });
  if (state.lastEventId) params.set("last_event_id", state.lastEventId);
  const socket = new WebSocket(`${scheme}://${location.host}/ws/adviser?${params}`);
  state.socket = socket;
  let first = !state.lastEventId;
  socket.addEventListener("message", (msg) => {
    let data;
    try {
      data = JSON.parse(msg.data);
    } catch (err) {
      return;
    }
    for (const frame of Array.isArray(data) ? data : [data]) handle(frame);
  });

  function handle(frame) {
    if (frame.type === "reply.stored" || frame.type === "reply.refused") {
      settle(frame.client_id, null, frame);
      return;
    }
    if (frame.event_id) state.lastEventId = frame.event_id;
    // A resync reloads everything shown: resume from the tail it names next time.
    if (frame.type === "resync" && frame.last_event_id) state.lastEventId = frame.last_event_id;
    if (frame.type === "hello") {
      state.lastEventId = state.lastEventId || frame.last_event_id;
      liveEl.dataset.state = "live";
      liveEl.setAttribute("aria-label", t("inbox.live"));
      liveEl.title = t("inbox.live");
      state.retry = 0;
      emit("connected", first);
      first = false;
      return;
    }
    dispatch(frame);
  }
  socket.addEventListener("close", (ev) => {
    for (const clientId of [...awaiting.keys()]) settle(clientId, new Error("closed"));
    liveEl.dataset.state = "offline";
    liveEl.setAttribute("aria-label", t("inbox.offline"));
    liveEl.title = t("inbox.offline");
    if (ev.code === 4401) {
      window.location.href = "/login";
      return;
    }
    state.retry = Math.min((state.retry || 0) + 1, 6);
    setTimeout(() => connect(dispatch), 300 * 2 ** state.retry * (0.5 + Math.random()));
  });
}

setInterval(() => {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send('{"type":"ping"}');
}, 25_000);
