// Keyboard-first triage: J/K or arrows move and open, Enter opens, R replies, N writes a note,
// T takes, A assigns, M moves to another office, E resolves or reopens, X selects for a bulk
// action, Esc goes back. Nothing fires while typing in a field.
import { $, root, state } from "./core.js";
import { focusComposer } from "./composer.js";
import { openAssign, openTransfer, take, toggleStatus } from "./dialogs.js";
import { toggleCheckedSelected, visibleIds } from "./list.js";
import { closeThread, open } from "./thread.js";

const listEl = $("conversation-list");

function move(step) {
  const ids = visibleIds();
  if (!ids.length) return;
  const focused = document.activeElement && document.activeElement.closest("[data-testid=conversation-item]");
  const from = focused ? Number(focused.dataset.id) : state.selected;
  const index = ids.indexOf(from);
  const next = ids[index === -1 ? 0 : Math.min(Math.max(index + step, 0), ids.length - 1)];
  open(next).then(() => {});
  const node = listEl.querySelector(`li[data-id="${next}"]`);
  if (node) node.focus();
}

document.addEventListener("keydown", (ev) => {
  const active = document.activeElement;
  const typing = active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName) || active.isContentEditable);
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector("dialog[open]")) return;
  const inList = active && active.closest && active.closest("[data-testid=conversation-list]");
  const key = ev.key;
  if (key === "j" || key === "ArrowDown") {
    if (key === "ArrowDown" && !inList && active !== document.body) return;
    move(1);
    ev.preventDefault();
  } else if (key === "k" || key === "ArrowUp") {
    if (key === "ArrowUp" && !inList && active !== document.body) return;
    move(-1);
    ev.preventDefault();
  } else if (key === "Enter" && inList) {
    const item = active.closest("[data-testid=conversation-item]");
    const ids = visibleIds();
    const id = item ? Number(item.dataset.id) : state.selected !== null ? state.selected : ids[0];
    if (id !== undefined) open(id).then(() => focusComposer());
    ev.preventDefault();
  } else if (key === "Enter" && state.selected === null && active === document.body) {
    const ids = visibleIds();
    if (ids.length) open(ids[0]);
  } else if (state.selected !== null && (key === "r" || key === "n")) {
    focusComposer(key === "n" ? "note" : "reply");
    ev.preventDefault();
  } else if (state.selected !== null && key === "e") {
    toggleStatus();
  } else if (state.selected !== null && key === "t") {
    take();
  } else if (state.selected !== null && key === "a") {
    openAssign();
    ev.preventDefault();
  } else if (state.selected !== null && key === "m") {
    openTransfer();
    ev.preventDefault();
  } else if (state.selected !== null && key === "x") {
    toggleCheckedSelected();
  } else if (key === "Escape") {
    if (root.classList.contains("has-thread")) {
      if (history.state && history.state.conversation) history.back();
      else closeThread();
      const item = listEl.querySelector(`li[data-id="${state.selected}"]`) || listEl.querySelector("li");
      if (item) item.focus();
    }
  }
});

// Clicking into the list focuses the item clicked, so arrows go on from there.
listEl.addEventListener("focus", () => {
  const item = listEl.querySelector("li[tabindex='0']") || listEl.querySelector("li");
  if (item) item.focus();
});
