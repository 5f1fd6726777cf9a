// A label as a coloured chip, its text dark or light by whichever reads better on its colour
// (WCAG contrast), and the priority flag raised by keyword rules. Shared by the list and the
// thread header; names are inserted as text only.
import { el, t } from "./core.js";

function channel(v) {
  const c = v / 255;
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

const DARK = 0.0137; // luminance of the dark ink #1a1f24

function ratio(a, b) {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

// The chip's colours: the label's own with whichever ink reads better on it; a mid-tone where
// neither reaches 4.5:1 (WCAG AA for small text) is darkened step by step under white ink, so
// any colour a manager picks stays readable and recognisably itself.
export function chipColors(hex) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  const rgb = m ? m.slice(1).map((x) => parseInt(x, 16)) : [107, 114, 128];
  const lum = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const l = lum(rgb);
  if (ratio(l, DARK) >= 4.5 && ratio(l, DARK) >= ratio(l, 1)) return { background: hex, ink: "#1a1f24" };
  if (ratio(l, 1) >= 4.5) return { background: hex, ink: "#ffffff" };
  if (ratio(l, DARK) >= 4.5) return { background: hex, ink: "#1a1f24" };
  let shade = rgb;
  for (let f = 0.95; f > 0 && ratio(lum(shade), 1) < 4.6; f -= 0.05) shade = rgb.map((c) => Math.round(c * f));
  return { background: `#${shade.map((c) => c.toString(16).padStart(2, "0")).join("")}`, ink: "#ffffff" };
}

export function chip(label, extra) {
  const node = el("span", { class: "label-chip", dir: "auto", title: label.name, dataset: Object.assign({ testid: "label-chip", labelId: String(label.id) }, extra || {}) }, label.name);
  const colors = chipColors(label.color);
  node.style.setProperty("--label", colors.background);
  node.style.setProperty("--label-ink", colors.ink);
  return node;
}

// At most `max` chips, then "+n" naming the others in its tooltip.
export function chips(labels, max) {
  const list = labels || [];
  const shown = list.slice(0, max).map((l) => chip(l));
  if (list.length > max) {
    const rest = list.slice(max);
    shown.push(el("span", { class: "label-more", title: t("labels.more_title", { count: rest.length, names: rest.map((l) => l.name).join(", ") }), dataset: { testid: "label-more" } }, t("labels.more", { count: rest.length })));
  }
  return shown;
}

export function priorityFlag(c) {
  if (!c || !c.priority) return null;
  return el("span", { class: "priority-flag", title: t("labels.priority_title"), dataset: { testid: "priority-flag" } }, el("span", { "aria-hidden": "true" }, "⚑ "), t("labels.priority"));
}
