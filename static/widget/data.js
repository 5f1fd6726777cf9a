// The visitor's data in their hands (app/visitor_data*.py): a "Your data" menu in the header to
// download the conversation (JSON or readable text), erase it after a confirmation, and ask
// "do not keep this conversation after it is answered". Requests carry the token in a header
// (api.fetch); downloads are fetched, then saved from a blob URL. Text only, never HTML.
parts.push(function (api) {
  api.style(`
    .data-toggle { background: none; border: 0; color: inherit; cursor: pointer; padding: 4px 6px; border-radius: 8px; display: grid; place-items: center; }
    .data-toggle svg { width: 20px; height: 20px; }
    .data-menu { position: absolute; top: 58px; right: 8px; left: 8px; max-width: 320px; margin-left: auto; background: #fff; color: #1d2430;
      border: 1px solid #d5dbe2; border-radius: 12px; box-shadow: 0 10px 28px rgba(0,0,0,.18); padding: 10px; z-index: 3;
      display: flex; flex-direction: column; gap: 6px; font-size: 14px; }
    .data-menu[hidden] { display: none; }
    .data-menu h3 { font-size: 14px; margin: 0 0 2px; }
    .data-menu button { font: inherit; text-align: left; background: #f5f6f8; color: #1d2430; border: 1px solid #d5dbe2; border-radius: 8px; padding: 8px 10px; cursor: pointer; }
    .data-menu button:hover { background: #eef1f5; }
    .data-menu button.danger { color: #b3261e; border-color: #efc2be; background: #fff; }
    .data-menu button.danger-strong { color: #fff; background: #b3261e; border-color: #b3261e; }
    .data-menu label { display: flex; gap: 8px; align-items: flex-start; line-height: 1.35; padding: 4px 2px; cursor: pointer; }
    .data-menu input[type=checkbox] { margin-top: 2px; width: 18px; height: 18px; flex: none; }
    .data-menu .help { font-size: 12px; color: #5f6b7a; margin: -2px 0 2px 28px; }
    .data-menu .confirm { border-top: 1px solid #e2e6eb; padding-top: 8px; display: flex; flex-direction: column; gap: 6px; }
    .data-menu .confirm[hidden] { display: none; }
    .data-menu .row { display: flex; gap: 6px; }
    .data-menu .row button { flex: 1; text-align: center; }
    .data-menu input:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
  `);

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const toggle = el("button", { type: "button", class: "data-toggle", "data-testid": "widget-data-toggle", "aria-expanded": "false", "aria-controls": "concierge-data-menu" });
  // A person with a shield: "your data" without words, the label says it.
  toggle.innerHTML =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><path d="M12 3l7 3v5c0 4.5-3 8.5-7 10-4-1.5-7-5.5-7-10V6z"/><circle cx="12" cy="10" r="2.5"/><path d="M8 16c.8-1.6 2.3-2.5 4-2.5s3.2.9 4 2.5"/></svg>';
  const menu = el("div", { class: "data-menu", id: "concierge-data-menu", role: "group", "data-testid": "widget-data-menu", hidden: "" });
  const title = el("h3", { id: "concierge-data-title" });
  menu.setAttribute("aria-labelledby", "concierge-data-title");
  const json = el("button", { type: "button", "data-testid": "widget-data-json" });
  const text = el("button", { type: "button", "data-testid": "widget-data-text" });
  const forget = el("input", { type: "checkbox", "data-testid": "widget-data-forget", id: "concierge-data-forget" });
  const forgetLabel = el("label", { for: "concierge-data-forget" });
  const forgetText = el("span");
  forgetLabel.append(forget, forgetText);
  const forgetHelp = el("p", { class: "help", "data-testid": "widget-data-forget-help" });
  const erase = el("button", { type: "button", class: "danger", "data-testid": "widget-data-erase" });
  const confirm = el("div", { class: "confirm", role: "alertdialog", "data-testid": "widget-data-confirm", hidden: "" });
  const confirmText = el("p", { id: "concierge-data-confirm-text", style: "margin:0" });
  confirm.setAttribute("aria-describedby", "concierge-data-confirm-text");
  const yes = el("button", { type: "button", class: "danger-strong", "data-testid": "widget-data-confirm-yes" });
  const no = el("button", { type: "button", "data-testid": "widget-data-cancel" });
  const row = el("div", { class: "row" });
  row.append(no, yes);
  confirm.append(confirmText, row);
  menu.append(title, json, text, forgetLabel, forgetHelp, erase, confirm);
  api.slots.header.append(toggle);
  api.panel.append(menu);

  let hours = 24;
  let justErased = false;

  function label() {
    const name = api.t("data.menu", "Your data");
    toggle.setAttribute("aria-label", api.t("data.menu_label", name));
    toggle.title = name;
    title.textContent = name;
    json.textContent = api.t("data.download_json", "Download (JSON)");
    text.textContent = api.t("data.download_text", "Download (text)");
    forgetText.textContent = api.t("data.forget", "Do not keep this conversation after it is answered");
    forgetHelp.textContent = api.fill("data.forget_help", "", { hours: Math.round(hours) });
    erase.textContent = api.t("data.erase", "Erase this conversation");
    confirmText.textContent = api.t("data.confirm", "Erase for good?");
    yes.textContent = api.t("data.confirm_yes", "Erase");
    no.textContent = api.t("data.cancel", "Cancel");
  }

  function setMenu(open) {
    menu.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (!open) confirm.hidden = true;
    if (open) {
      // Right under the header, however many lines it wraps onto (a phone, a long title).
      const header = api.slots.header.closest("header");
      if (header) menu.style.top = `${header.offsetHeight + 4}px`;
      json.focus();
    }
  }

  async function refusal(response) {
    try {
      const body = await response.json();
      return body.detail || api.t("data.failed", "");
    } catch (e) {
      return api.t("data.failed", "");
    }
  }

  async function download(format) {
    try {
      const response = await api.fetch(`/api/visitor/data?format=${format}`);
      if (!response.ok) {
        api.setStatus(await refusal(response), true);
        return;
      }
      const disposition = response.headers.get("content-disposition") || "";
      const match = /filename="([^"]+)"/.exec(disposition);
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: match ? match[1] : `conversation.${format === "text" ? "txt" : "json"}` });
      link.style.display = "none";
      api.shadow.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      api.setStatus("");
    } catch (e) {
      api.setStatus(api.t("data.failed", ""), true);
    }
  }

  async function saveForget() {
    const wanted = forget.checked;
    try {
      const response = await api.fetch("/api/visitor/data/forget", {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ forget: wanted }),
      });
      if (!response.ok) {
        forget.checked = !wanted;
        api.setStatus(await refusal(response), true);
        return;
      }
      api.setStatus(wanted ? api.fill("data.saved_forget", "", { hours: Math.round(hours) }) : api.t("data.saved_keep", ""));
    } catch (e) {
      forget.checked = !wanted;
      api.setStatus(api.t("data.failed", ""), true);
    }
  }

  async function eraseNow() {
    justErased = true; // the server's resync may come before this answer
    try {
      const response = await api.fetch("/api/visitor/data", { method: "DELETE" });
      if (!response.ok) {
        justErased = false;
        api.setStatus(await refusal(response), true);
        return;
      }
      setMenu(false);
      forget.checked = false;
      toggle.focus();
    } catch (e) {
      justErased = false;
      api.setStatus(api.t("data.failed", ""), true);
    }
  }

  toggle.addEventListener("click", () => setMenu(menu.hidden));
  json.addEventListener("click", () => download("json"));
  text.addEventListener("click", () => download("text"));
  forget.addEventListener("change", saveForget);
  erase.addEventListener("click", () => {
    confirm.hidden = false;
    no.focus();
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    erase.focus();
  });
  yes.addEventListener("click", eraseNow);
  menu.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.stopPropagation(); // closes the menu, not the whole chat
      setMenu(false);
      toggle.focus();
    }
  });

  api.on("hello", (frame) => {
    // The notice of this widget's destination, on the helpdesk as this page reached it (the
    // script's own origin), whatever address the server believes it has.
    const privacy = api.shadow.querySelector("[data-testid=widget-privacy] a");
    if (privacy && frame.privacy_url) {
      const target = new URL(frame.privacy_url, api.origin);
      privacy.href = `${api.origin}${target.pathname}${target.search}`;
    }
    const data = frame.data || {};
    if (typeof data.forget_hours === "number") hours = data.forget_hours;
    forget.checked = Boolean(data.forget);
    label();
    if (justErased) {
      justErased = false;
      api.say(api.t("data.erased", "Erased."), "widget-data-erased");
    }
  });
});
