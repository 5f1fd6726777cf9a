// Alerts that reach someone on duty with the tab in the background: a sound (remembered
// toggle), desktop notifications (asked once, with a clear setting), a title count of what
// needs this adviser now, chats waiting past their target, and the duty banner.
import { $, api, clock, contactLabel, duration, me, now, on, state, t, weekdayTime } from "./core.js";
import { concernsMe, waiting } from "./list.js";

const SOUND_KEY = `concierge.sound.${me.id}`;
const NOTIFY_KEY = `concierge.notify.${me.id}`;
const soundButton = $("sound-toggle");
const notifyButton = $("notify-enable");
const notifyState = $("notify-state");
let soundUrl = null;

function soundOn() {
  return localStorage.getItem(SOUND_KEY) !== "off";
}

// A short two-tone chime, made here so no file has to be fetched at the moment it rings.
function chime() {
  if (soundUrl) return soundUrl;
  const rate = 22050;
  const samples = Math.floor(rate * 0.42);
  const buffer = new ArrayBuffer(44 + samples * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) {
    const time = i / rate;
    const freq = time < 0.18 ? 880 : 1175;
    const envelope = Math.exp(-6 * (time < 0.18 ? time : time - 0.18));
    view.setInt16(44 + i * 2, Math.sin(2 * Math.PI * freq * time) * envelope * 0.5 * 32767, true);
  }
  soundUrl = URL.createObjectURL(new Blob([buffer], { type: "audio/wav" }));
  return soundUrl;
}

function notifyAllowed() {
  return "Notification" in window && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) !== "off";
}

function renderSettings() {
  soundButton.setAttribute("aria-pressed", String(soundOn()));
  soundButton.title = soundOn() ? t("inbox.sound_on") : t("inbox.sound_off");
  soundButton.querySelector(".visually-hidden").textContent = soundButton.title;
  if (!("Notification" in window)) {
    notifyButton.hidden = true;
    notifyState.textContent = "";
    return;
  }
  const permission = Notification.permission;
  notifyButton.hidden = permission === "denied";
  notifyButton.textContent = permission === "default" ? t("inbox.notify_enable") : notifyAllowed() ? t("inbox.notify_turn_off") : t("inbox.notify_turn_on");
  notifyState.textContent = permission === "denied" ? t("inbox.notify_blocked") : "";
}

soundButton.addEventListener("click", () => {
  localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on");
  renderSettings();
});
notifyButton.addEventListener("click", async () => {
  if (Notification.permission === "default") {
    await Notification.requestPermission();
    localStorage.setItem(NOTIFY_KEY, "on");
  } else {
    localStorage.setItem(NOTIFY_KEY, notifyAllowed() ? "off" : "on");
  }
  renderSettings();
});

export function ring(title, body, conversationId) {
  if (soundOn()) {
    const audio = new Audio(chime());
    audio.play().catch(() => {});
  }
  if (document.visibilityState !== "visible" && notifyAllowed()) {
    try {
      const note = new Notification(title, { body, tag: `conversation-${conversationId}`, lang: document.documentElement.lang });
      note.onclick = () => {
        window.focus();
        import("./thread.js").then((m) => m.open(conversationId));
        note.close();
      };
    } catch (err) {
      /* some browsers only notify from a service worker: the sound and title still tell */
    }
  }
}

// ---- what rings ---------------------------------------------------------------------------
// A message announced twice (replayed after a Redis outage, app/recovery.py) rings once.
const rungMessages = new Set();
on("event:message.created", (frame) => {
  const m = frame.message;
  if (rungMessages.has(m.id)) return;
  rungMessages.add(m.id);
  if (rungMessages.size > 2000) rungMessages.delete(rungMessages.values().next().value);
  const c = state.conversations.get(frame.conversation_id);
  if (m.direction === "note" && (m.mentions || []).includes(me.id) && m.author_name !== me.name) {
    ring(t("inbox.alert.mention", { name: m.author_name }), m.text.slice(0, 140), frame.conversation_id);
    return;
  }
  if (m.direction !== "in" || !c || !concernsMe(c)) return;
  const looking = document.visibilityState === "visible" && state.selected === c.id;
  if (!looking) ring(t("inbox.alert.message", { name: contactLabel(c) }), m.text.slice(0, 140), c.id);
});

on("conversation", (c, before) => {
  if (c.assignee_id === me.id && before && before.assignee_id !== me.id && c.status === "open" && c.waiting_since) {
    ring(t("inbox.alert.assigned", { name: contactLabel(c) }), c.preview, c.id);
  }
});

// A visitor waiting past the target rings every adviser of the office handling it, again
// each time another target's length has gone by (never more than every 2 minutes).
const rungOverdue = new Map();
function checkOverdue() {
  for (const c of state.conversations.values()) {
    const wait = waiting(c);
    if (!wait || !wait.overdue) {
      rungOverdue.delete(c.id);
      continue;
    }
    if (!(c.assignee_id === me.id || me.officeId === null || c.office_id === me.officeId)) continue;
    const last = rungOverdue.get(c.id);
    const every = Math.max(wait.target, 120) * 1000;
    if (last === undefined || Date.now() - last >= every) {
      rungOverdue.set(c.id, Date.now());
      ring(t("inbox.alert.overdue", { name: contactLabel(c), time: duration(wait.seconds) }), t("inbox.target", { target: duration(wait.target) }), c.id);
    }
  }
}
setInterval(checkOverdue, 15_000);
on("listRendered", () => setTimeout(checkOverdue, 0));

// ---- the title: what needs this adviser now -------------------------------------------------
on("counts", (counts) => {
  const n = counts.attention || 0;
  document.title = (n ? `(${n}) ` : "") + t("inbox.title") + " · Concierge";
});

// ---- the duty banner --------------------------------------------------------------------------
let dutyTimer = null;
export async function refreshDuty() {
  clearTimeout(dutyTimer);
  let duty;
  try {
    duty = await api("/api/duty");
  } catch (err) {
    dutyTimer = setTimeout(refreshDuty, 60_000);
    return;
  }
  const banner = $("duty-banner");
  const before = state.duty;
  state.duty = duty;
  let text = "";
  if (before && before.on_duty && (!duty.on_duty || duty.kind !== before.kind)) {
    const left = [...state.conversations.values()].filter((c) => c.status === "open" && (me.officeId === null || c.office_id === me.officeId)).length;
    text = t("inbox.duty.ended", { time: clock(before.until || new Date(now()).toISOString()), count: left });
    banner.dataset.kind = "handover";
  } else if (duty.on_duty) {
    const scope = duty.scope === "destination" ? t("inbox.duty.destination") : duty.office_name;
    text = duty.until ? t("inbox.duty.on_until", { scope, time: clock(duty.until) }) : t("inbox.duty.on", { scope });
    const together = duty.together || [];
    if (together.length) {
      // Several offices on duty at once, sharing the load: name every one of them.
      const list = (names) => new Intl.ListFormat(document.documentElement.lang || undefined).format(names);
      text += " " + (me.officeId === null
        ? t("inbox.duty.offices", { offices: list([duty.office_name, ...together]) })
        : t("inbox.duty.shared_with", { offices: list(together) }));
    }
    banner.dataset.kind = "on";
  } else if (duty.next_start) {
    const when = weekdayTime(duty.next_start);
    text = duty.office_name ? t("inbox.duty.off", { office: duty.office_name, when }) : t("inbox.duty.off_shared", { when });
    banner.dataset.kind = "off";
  }
  banner.textContent = text;
  banner.hidden = !text;
  let next = 60_000;
  if (duty.until) next = Math.min(next, Math.max(1000, Date.parse(duty.until) - now() + 1000));
  dutyTimer = setTimeout(refreshDuty, next);
}

renderSettings();
