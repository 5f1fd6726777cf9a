// A label as a coloured chip, its text dark or light by whichever reads better on its colour
// (WCAG contrast), and the priority flag raised by keyword rules. Shared by the list and the
// thread header; names are inserted as text only.
import { el, t } from "./core.js";

function channel(v) {
  const c = v / 255;
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function luminance(hex) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!m) return 0.5;
  const [r, g, b] = m.slice(1).map((x) => channel(parseInt(x, 16)));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

// The text colour with the higher contrast ratio against `hex`.
export function inkFor(hex) {
  const l = luminance(hex);
  const dark = (l + 0.05) / (0.0137 + 0.05); // against #1a1f24
  const light = 1.05 / (l + 0.05); // against white
  return dark >= light ? "#1a1f24" : "#ffffff";
}

export function chip(label, extra) {
  const node = el("span", { class: "label-chip", dir: "auto", title: label.name, dataset: Object.assign({ testid: "label-chip", labelId: String(label.id) }, extra || {}) }, label.name);
  node.style.setProperty("--label", label.color);
  node.style.setProperty("--label-ink", inkFor(label.color));
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
