// Keyboard-first triage: J/K or arrows move and open, Enter opens, R replies, N writes a note,
// T takes, A assigns, M moves to another office, E resolves or reopens, X selects for a bulk
// action, L opens the label menu (labels.js), Esc goes back. Nothing fires while typing in a field.
import { emit, root, state } from "./core.js";
import { focusComposer } from "./composer.js";
import { openAssign, openTransfer, take, toggleStatus } from "./dialogs.js";
import { focusRow, toggleCheckedSelected, visibleIds } from "./list.js";
import { closeThread, open } from "./thread.js";
import { focusSearch } from "./search.js";

// Moves to the next or previous conversation and opens it; from nothing open, to the first.
function move(step) {
  const ids = visibleIds();
  if (!ids.length) return;
  const index = state.selected === null ? -1 : ids.indexOf(state.selected);
  const next = index === -1 ? ids[0] : ids[Math.min(Math.max(index + step, 0), ids.length - 1)];
  open(next);
  focusRow(next);
}

document.addEventListener("keydown", (ev) => {
  const active = document.activeElement;
  const typing = active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName) || active.isContentEditable) && !(active.classList && active.classList.contains("pick"));
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector("dialog[open]")) return;
  const inList = active && active.closest && active.closest("[data-testid=conversation-list]");
  const onRow = active && active.classList && active.classList.contains("row");
  const key = ev.key;
  if (key === "/") {
    // Search (the composer's own "/" is the answer picker's: typing there never gets here).
    focusSearch();
    ev.preventDefault();
  } else if (key === "j" || key === "ArrowDown") {
    if (key === "ArrowDown" && !inList && active !== document.body) return;
    move(1);
    ev.preventDefault();
  } else if (key === "k" || key === "ArrowUp") {
    if (key === "ArrowUp" && !inList && active !== document.body) return;
    move(-1);
    ev.preventDefault();
  } else if (key === "Enter" && onRow) {
    // Enter on a row opens it and goes to the reply box.
    const id = Number(active.closest("[data-testid=conversation-item]").dataset.id);
    open(id).then(() => focusComposer());
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
  } else if (state.selected !== null && key === "l") {
    emit("labels:menu");
    ev.preventDefault();
  } else if (state.selected !== null && key === "x") {
    toggleCheckedSelected();
  } else if (key === "Escape") {
    if (root.classList.contains("has-thread")) {
      if (history.state && history.state.conversation) history.back();
      else closeThread();
      if (state.selected !== null) focusRow(state.selected);
    }
  }
});
