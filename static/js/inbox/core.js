// Shared by every inbox module: the page's root, translations and locale formats, the API,
// and the one state object. Visitor text is only ever inserted as text (textContent).

export const root = document.querySelector("[data-testid=inbox]");
export const $ = (id) => root.querySelector(`[data-testid=${id}]`);
const catalog = JSON.parse(document.getElementById("i18n").textContent);
export const lang = root.dataset.lang || document.documentElement.lang || "en";
// The English interface follows European conventions: 24-hour times, day before month.
export const locale = lang === "fr" ? "fr-FR" : "en-GB";
const csrf = document.querySelector("meta[name=csrf-token]").content;

export const me = {
  id: Number(root.dataset.userId),
  name: root.dataset.userName || "",
  role: root.dataset.role || "adviser",
  officeId: root.dataset.officeId === "" ? null : Number(root.dataset.officeId),
};

// The server's clock may differ from the browser's (or run "as if" at another instant).
const skew = root.dataset.serverNow ? Date.parse(root.dataset.serverNow) - Date.now() : 0;
export function now() {
  return Date.now() + (Number.isFinite(skew) ? skew : 0);
}

export const state = {
  filter: "open",
  conversations: new Map(), // id -> conversation, as the server last described it
  selected: null,
  cursor: null, // the next page of the current tab, null when there is none
  checked: new Set(), // conversations selected for a bulk action
  lastEventId: null,
  socket: null,
  colleagues: [],
  viewers: new Map(), // conversation id -> Map(user id -> name)
  typing: new Map(), // conversation id -> {name, side, until}
  live: new Map(), // conversation id -> the visitor's widget is open (signals override the list)
  duty: null,
  counts: {},
  replyTo: new Map(), // e-mail conversation id -> {at, address}: its latest visitor message's Reply-To
};

export function t(key, params) {
  let text = catalog[key] || key;
  for (const [name, value] of Object.entries(params || {})) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(catalog, key);
}

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// Times are shown in the destination's time zone (an adviser at home abroad still reads the
// hours the visitors and the rota live by).
function zone() {
  try {
    const tz = root.dataset.timezone || undefined;
    new Intl.DateTimeFormat(locale, { timeZone: tz });
    return tz;
  } catch (err) {
    return undefined;
  }
}
export const timeZone = zone();
const timeFmt = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
const dayFmt = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone });
const dateKey = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone });
const weekdayFmt = new Intl.DateTimeFormat(locale, { weekday: "long", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
const numberFmt = new Intl.NumberFormat(locale);
const longFmt = new Intl.DateTimeFormat(locale, { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });

export function clock(iso) {
  return timeFmt.format(new Date(iso));
}

// Today: 21:14; another day: 12 Sept 21:14.
export function when(iso) {
  const d = new Date(iso);
  const today = dateKey.format(new Date(now())) === dateKey.format(d);
  return today ? timeFmt.format(d) : `${dayFmt.format(d)} ${timeFmt.format(d)}`;
}

export function weekdayTime(iso) {
  return weekdayFmt.format(new Date(iso));
}

// 12 May 2002, 10:00: a date that may be years away from today (a sender's own date).
export function longDate(iso) {
  return longFmt.format(new Date(iso));
}

export function number(n) {
  return numberFmt.format(n);
}

// 45 s, 12 min, 3 h 05, 2 d 4 h — with the units of the user's language.
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("fmt.seconds", { n: s });
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return t("fmt.minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t("fmt.hours_minutes", { h: hours, m: String(minutes % 60).padStart(2, "0") });
  const days = Math.floor(hours / 24);
  return t("fmt.days_hours", { d: number(days), h: hours % 24 });
}

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Returns the JSON body; `withResponse` also gives the response (for pagination headers).
export async function api(path, options, withResponse) {
  const opts = Object.assign({ headers: {} }, options || {});
  opts.headers.Accept = "application/json";
  if (opts.body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-CSRF-Token"] = csrf;
    if (typeof opts.body !== "string") opts.body = JSON.stringify(opts.body);
  }
  let response;
  try {
    response = await fetch(path, Object.assign({ credentials: "same-origin" }, opts));
  } catch (err) {
    throw new ApiError(t("inbox.error.network"), 0, "network");
  }
  if (response.status === 401) {
    window.location.href = "/login";
    throw new ApiError("login required", 401, "login");
  }
  // A body that is not JSON reads as {} (the status says what happened), but a request
  // aborted while its body was still arriving is an abort, never an empty answer.
  const data = await response.json().catch((err) => {
    if (err.name === "AbortError" || (opts.signal && opts.signal.aborted)) throw err;
    return {};
  });
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : t("inbox.error.generic", { status: response.status });
    throw new ApiError(detail, response.status, data.code || "");
  }
  return withResponse ? { data, response } : data;
}

export function contactLabel(c) {
  return c.contact_name || c.contact_handle || `${t("inbox.visitor")} #${c.id}`;
}

// Where a reply to this conversation goes: on e-mail the Reply-To of the visitor's latest
// message when it had one (a web form's visitor, not its no-reply sender), else the contact.
export function replyAddress(c) {
  if (!c) return "";
  if (c.reply_address) return c.reply_address;
  const latest = c.channel === "email" ? state.replyTo.get(c.id) : null;
  return (latest && latest.address) || c.contact_handle || "";
}

// A translated sentence whose {placeholders} are names someone chose: each is set in its own
// isolated span (dir="auto"), so a right-to-left name cannot reorder the words around it.
export function tNodes(key, params) {
  const parts = [];
  let text = catalog[key] || key;
  const names = Object.entries(params || {});
  while (text) {
    let first = null;
    for (const [name, value] of names) {
      const at = text.indexOf(`{${name}}`);
      if (at >= 0 && (first === null || at < first.at)) first = { at, name, value };
    }
    if (first === null) {
      parts.push(text);
      break;
    }
    if (first.at > 0) parts.push(text.slice(0, first.at));
    parts.push(el("bdi", { dir: "auto" }, String(first.value)));
    text = text.slice(first.at + first.name.length + 2);
  }
  return parts;
}

// Small publish/subscribe between modules, so none imports another's internals.
const handlers = new Map();
export function on(name, handler) {
  if (!handlers.has(name)) handlers.set(name, []);
  handlers.get(name).push(handler);
}
export function emit(name, ...args) {
  for (const handler of handlers.get(name) || []) handler(...args);
}

export function isNarrow() {
  return window.matchMedia("(max-width: 760px)").matches;
}
