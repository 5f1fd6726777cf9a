// A message as its sender sent it: every part of its text in order, inline images where they
// stood, forwarded mails under their own small header, quoted history folded; and around it what
// the channel tells (robot marks, the sender's own date, where a reply goes, the tweet on X,
// the quoted tweet, its language). Sender text is only ever inserted as text, each block
// isolated with dir="auto" so a right-to-left message is laid out right to left.
import { el, emit, lang, locale, longDate, t, tNodes } from "./core.js";

const IMAGE_MARK = /\[image: ([^\]\n]+)\]/g;
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
const ROBOT_KINDS = new Set(["bounce", "auto_reply", "list"]);
const SENT_APART_MS = 5 * 60 * 1000; // a sender's clock a few minutes off is not news
const UI_DIR = document.documentElement.dir || "ltr";
const languageNames = (() => {
  try {
    return new Intl.DisplayNames([locale], { type: "language" });
  } catch (err) {
    return null;
  }
})();

const isWebLink = (url) => typeof url === "string" && /^https?:\/\//i.test(url);
const text = (value) => (typeof value === "string" ? value : "");

// A file kept here is downloaded; one kept only by the channel (an X photo) opens there, in a
// new tab that learns nothing of the inbox (CSP keeps other sites' images out of the page).
export function attachmentLink(a, label) {
  if (a.available) return el("a", { href: `/api/attachments/${a.id}`, download: a.filename, dataset: { testid: "attachment" } }, label);
  if (isWebLink(a.url)) {
    return el("a", { href: a.url, target: "_blank", rel: "noopener noreferrer", referrerpolicy: "no-referrer", title: t("message.opens_outside"), dataset: { testid: "attachment", external: "true" } }, `${label} ↗`);
  }
  return null;
}

const PHOTO_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

function fileSize(size) {
  return size >= 1024 * 1024 ? `${(size / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.ceil(size / 1024))} KB`;
}

// A photo kept here: its thumbnail (made by the server from the bytes, 320 px at most), a link
// that opens the full photo in a new tab (served inline only if its bytes are a photo), and the
// download chip under it. If the bytes turn out to be no photo, the thumbnail is dropped.
function photoNode(a, label) {
  const img = el("img", { src: `/api/attachments/${a.id}/thumbnail?inline=1`, alt: a.filename, loading: "lazy", class: "thumb", dataset: { testid: "attachment-thumbnail" } });
  const open = el("a", { href: `/api/attachments/${a.id}?inline=1`, target: "_blank", rel: "noopener", class: "thumb-link", title: t("files.open_image", { name: a.filename }), "aria-label": t("files.open_image", { name: a.filename }), dataset: { testid: "attachment-open" } }, img);
  img.addEventListener("error", () => open.remove());
  return el("li", { dir: "auto", class: "photo" }, open, attachmentLink(a, label));
}

export function filesNode(m) {
  const files = (m.attachments || []).map((a) => {
    const label = a.available ? `${a.filename} (${fileSize(a.size)})` : a.filename || t("message.media");
    if (a.available && PHOTO_TYPES.has(a.content_type)) return photoNode(a, label);
    const link = attachmentLink(a, label);
    if (link && a.available) link.classList.add("file-chip");
    return el("li", { dir: "auto" }, link || `${a.filename} — ${t("inbox.attachment_missing")}`);
  });
  return files.length ? el("ul", { class: "files" }, ...files) : null;
}

// "[image: photo.jpg]" where an inline image stood: a small chip, a link to that file.
function imageChip(m, marked) {
  const name = marked.replace(BIDI_CONTROLS, "").trim();
  const file = (m.attachments || []).find((a) => a.filename === name);
  const link = file ? attachmentLink(file, name) : null;
  return el("span", { class: "chip", dir: "auto", title: t("message.inline_image"), dataset: { testid: "image-chip" } }, el("span", { class: "chip-icon", "aria-hidden": "true" }, "▣ "), link || name);
}

function appendText(parent, m, value) {
  let last = 0;
  for (const match of value.matchAll(IMAGE_MARK)) {
    parent.append(value.slice(last, match.index), imageChip(m, match[1]));
    last = match.index + match[0].length;
  }
  parent.append(value.slice(last));
}

// An inline forward repeats in its text what the header above it says ("---------- Forwarded
// message ---------", "From: …", "Date: …"): those lines are folded, one click away.
const SEPARATOR_LINE = /^\s*(?:[-_=*]{3,}.*|.*(?:forward|original|transf[ée]r[ée]|réexpédié|d'origine|weitergeleitet|reenviado).*)$/iu;
const HEADER_LINE = /^\s*\p{L}[\p{L} .'-]{0,30}?\s?:\s?\S/u;

function inlineHeaderEnd(value) {
  const lines = value.split("\n");
  let i = 0;
  while (i < lines.length && !lines[i].trim()) i += 1;
  if (i < lines.length && !HEADER_LINE.test(lines[i]) && SEPARATOR_LINE.test(lines[i])) i += 1;
  let headers = 0;
  while (i < lines.length && (HEADER_LINE.test(lines[i]) || (headers > 0 && /^\s+\S/.test(lines[i])))) {
    if (HEADER_LINE.test(lines[i])) headers += 1;
    i += 1;
  }
  return headers >= 2 ? lines.slice(0, i).join("\n").length : 0;
}

function appendForwardedText(parent, m, value) {
  const end = inlineHeaderEnd(value);
  if (end) {
    const raw = el("details", { class: "quote fwd-raw", dataset: { testid: "forwarded-raw" } }, el("summary", { title: t("message.forwarded_raw") }, "…"));
    appendText(raw, m, value.slice(0, end));
    parent.append(raw);
  }
  appendText(parent, m, value.slice(end).replace(/^\s*\n/, ""));
}

// A forwarded mail's date as the parser gave it: a timestamp in the reader's format, else as written.
function forwardedDate(value) {
  return /^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(Date.parse(value)) ? longDate(value) : value;
}

function forwardedHead(f) {
  const rows = [
    ["from", text(f.from)],
    ["date", forwardedDate(text(f.date))],
    ["subject", text(f.subject)],
  ].filter(([, value]) => value);
  // The header has a direction of its own, so the body's dir="auto" reads the sender's words.
  return el(
    "div",
    { class: "fwd-head", dir: UI_DIR, dataset: { testid: "forwarded-head" } },
    el("span", { class: "fwd-title" }, t("message.forwarded")),
    ...rows.map(([key, value]) => el("span", { class: "fwd-row" }, `${t(`message.forwarded_${key}`)} `, el("bdi", { dir: "auto" }, value))),
  );
}

// Offsets from the server count code points (Python's str); JavaScript's count UTF-16 units.
function forwardedBlocks(details, length) {
  const seen = new Set();
  return (Array.isArray(details.forwarded) ? details.forwarded : [])
    .filter((f) => f && Number.isInteger(f.at) && f.at >= 0 && f.at <= length && !seen.has(f.at) && seen.add(f.at))
    .sort((a, b) => a.at - b.at);
}

export function bodyNode(m) {
  const body = el("div", { class: "text", dir: "auto", dataset: { testid: "message-text" } });
  if (m.erased) {
    body.append(el("em", { class: "muted", dataset: { testid: "erased-message" } }, t("inbox.erased_message")));
    return body;
  }
  if (!m.text) {
    body.append(el("em", { class: "muted", dataset: { testid: "empty-message" } }, t("message.no_text")));
    return body;
  }
  const chars = Array.from(m.text);
  const cut = (from, to) => chars.slice(from, to).join("");
  const blocks = forwardedBlocks(m.details || {}, chars.length);
  let fold = Number.isInteger(m.quote_start) && m.quote_start > 0 && m.quote_start < chars.length ? m.quote_start : null;
  // Folding never hides a forwarded mail (the visitor's reason for writing); history quoted
  // inside the last forwarded mail is still folded.
  if (fold !== null && blocks.some((b) => b.at >= fold)) fold = null;
  const starts = [0, ...blocks.map((b) => b.at)];
  starts.forEach((from, i) => {
    const to = i + 1 < starts.length ? starts[i + 1] : chars.length;
    let target = body;
    if (i > 0) {
      target = el("div", { class: "forwarded", dir: "auto", dataset: { testid: "forwarded" } }, forwardedHead(blocks[i - 1]));
      body.append(target);
    }
    const shown = (value) => (i > 0 ? appendForwardedText(target, m, value.trimEnd()) : appendText(target, m, value.trimEnd()));
    if (fold !== null && fold >= from && fold < to) {
      shown(cut(from, fold));
      const rest = el("details", { class: "quote" }, el("summary", { title: t("inbox.show_quote") }, "…"));
      appendText(rest, m, cut(fold, to));
      target.append(rest);
    } else {
      shown(cut(from, to));
    }
  });
  return body;
}

// Marks above the text: sent by a robot (bounce, automatic reply, mailing list), another language.
export function marksNode(m) {
  const marks = [];
  if (m.direction === "in" && ROBOT_KINDS.has(m.kind)) {
    marks.push(el("span", { class: `mark robot ${m.kind}`, dataset: { testid: "kind-badge", kind: m.kind } }, t(`message.kind.${m.kind}`)));
  }
  const tag = text((m.details || {}).lang).toLowerCase();
  // X says "und" (undetermined), "zxx" and q-codes (only links, hashtags…) when there is no language.
  if (tag && tag !== "und" && tag !== "zxx" && !/^q[a-z]{2}$/.test(tag) && tag.split("-")[0] !== lang) {
    let name = tag;
    try {
      name = (languageNames && languageNames.of(tag)) || tag;
    } catch (err) {
      name = tag;
    }
    marks.push(el("span", { class: "mark lang", lang: tag, title: t("message.language", { language: name }), dataset: { testid: "lang-badge" } }, name));
  }
  return marks.length ? el("div", { class: "marks" }, ...marks) : null;
}

// The quoted tweet, as X showed it, or why it cannot be shown.
export function quotedNode(m) {
  const quoted = (m.details || {}).quoted;
  if (!quoted || typeof quoted !== "object") return null;
  if (quoted.unavailable || !text(quoted.text)) {
    return el("p", { class: "quoted unavailable muted", dataset: { testid: "quoted-unavailable" } }, t("message.quoted_unavailable"));
  }
  const author = text(quoted.author);
  return el(
    "blockquote",
    { class: "quoted", dataset: { testid: "quoted" } },
    author ? el("span", { class: "quoted-author", dir: "auto" }, author) : null,
    el("span", { class: "quoted-text", dir: "auto" }, quoted.text),
    isWebLink(quoted.url) ? el("a", { href: quoted.url, target: "_blank", rel: "noopener noreferrer", class: "quoted-link" }, t("message.open_quoted")) : null,
  );
}

// A muted line under the text: where a reply goes, the sender's own date, the tweet on X.
export function infoNode(m) {
  const details = m.details || {};
  const items = [];
  if (m.direction === "in" && text(details.reply_to)) {
    items.push(el("span", { dataset: { testid: "reply-to-line" } }, ...tNodes("message.reply_to", { address: details.reply_to })));
  }
  if (m.direction === "in" && text(details.via)) {
    items.push(el("span", { dataset: { testid: "via-line" } }, ...tNodes("message.via", { address: details.via })));
  }
  // Who else received the mail (the To is the office itself, not repeated).
  if (m.direction === "in" && text(details.cc)) {
    items.push(el("span", { dataset: { testid: "cc-line" } }, ...tNodes("message.cc", { addresses: details.cc })));
  }
  if (m.sent_at && Math.abs(Date.parse(m.sent_at) - Date.parse(m.created_at)) > SENT_APART_MS) {
    items.push(el("span", { title: t("message.sent_at_hint"), dataset: { testid: "sent-at" } }, t("message.sent_at", { date: longDate(m.sent_at) })));
  }
  if (isWebLink(details.url)) {
    items.push(el("a", { href: details.url, target: "_blank", rel: "noopener noreferrer", dataset: { testid: "tweet-link" } }, t(details.dm ? "message.open_dm" : "message.open_tweet")));
  }
  // An adviser's reply that reached the visitor can become a prepared answer (answers.js).
  if (m.direction === "out" && m.author_kind === "adviser" && !m.erased && m.text && m.delivery_status !== "failed") {
    const save = el("button", { type: "button", class: "link save-answer", dataset: { testid: "save-as-answer" } }, t("answers.save_as_answer"));
    save.addEventListener("click", () => emit("saveAsAnswer", m));
    items.push(save);
  }
  if (!items.length) return null;
  const line = el("span", { class: "info" });
  items.forEach((item, i) => line.append(i ? " · " : "", item));
  return line;
}
