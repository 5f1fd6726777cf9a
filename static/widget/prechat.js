// Before the first message (app/widget_look.py's `ask`): the visitor's name and/or e-mail
// address, optional or required, in a small form above the composer. The name travels with the
// first message (the adviser sees it on the new conversation at once); the address needs the
// conversation, so it is left once the first message is acknowledged, through
// POST /api/visitor/contact (app/web/offline_api.py), which decides: its refusal is shown.
parts.push(function (api) {
  api.style(`
    .prechat { margin: 0 10px; padding: 8px 10px; border: 1px solid #e2e6eb; border-radius: 10px; background: #f9fafb;
      display: grid; gap: 4px; font-size: 13px; color: #1d2430; }
    .prechat[hidden] { display: none; }
    .prechat p { margin: 0; }
    .prechat label { font-weight: 600; }
    .prechat input { font: inherit; font-size: 14px; padding: 6px 8px; border: 1px solid #cfd5dc; border-radius: 8px; width: 100%; }
    .prechat input[aria-invalid=true] { border-color: #b3261e; }
    .prechat input:focus-visible { outline: 3px solid #f0a500; outline-offset: 1px; }
    .prechat .purpose { font-size: 12px; color: #5f6b7a; }
    .prechat .problem { color: #b3261e; font-size: 12px; }
    .prechat .problem:empty { display: none; }
    @media (max-height: 560px) { .prechat { gap: 2px; padding: 6px 8px; } }
  `);
  const el = (tag, attrs) => {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([name, value]) => node.setAttribute(name, value));
    return node;
  };
  const box = el("div", { class: "prechat", "data-testid": "widget-prechat", hidden: "" });
  const intro = el("p");
  const nameLabel = el("label", { for: "concierge-prechat-name" });
  const name = el("input", {
    id: "concierge-prechat-name",
    type: "text",
    maxlength: "100",
    autocomplete: "name",
    dir: "auto",
    "data-testid": "widget-prechat-name",
  });
  const emailLabel = el("label", { for: "concierge-prechat-email" });
  const email = el("input", {
    id: "concierge-prechat-email",
    type: "email",
    maxlength: "320",
    autocomplete: "email",
    "aria-describedby": "concierge-prechat-purpose",
    "data-testid": "widget-prechat-email",
  });
  const purpose = el("p", { class: "purpose", id: "concierge-prechat-purpose" });
  const problem = el("p", { class: "problem", role: "alert", "data-testid": "widget-prechat-error" });
  box.append(intro, nameLabel, name, emailLabel, email, purpose, problem);
  api.slots.aboveForm.append(box);

  let ask = "none";
  let required = false;
  let waiting = null; // {name, email} to leave once the first message is acknowledged

  const asks = (what) => ask === "both" || ask === what;
  // Obvious mistakes only (a missing @, a space, no dot in the domain); the server decides.
  const looksLikeAddress = (value) => /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(value);

  function relabel() {
    const optional = required ? "" : ` ${api.t("prechat.optional", "(optional)")}`;
    intro.textContent = api.t("prechat.intro", "");
    nameLabel.textContent = api.t("prechat.name", "Your name") + optional;
    emailLabel.textContent = api.t("prechat.email", "Your e-mail address") + optional;
    purpose.textContent = api.t("prechat.email_purpose", "");
    [nameLabel, name].forEach((node) => (node.hidden = !asks("name")));
    [emailLabel, email, purpose].forEach((node) => (node.hidden = !asks("email")));
    name.required = required && asks("name");
    email.required = required && asks("email");
  }

  function refuse(text, field) {
    problem.textContent = text;
    [name, email].forEach((input) => input.removeAttribute("aria-invalid"));
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  }

  api.on("hello", (hello) => {
    const look = hello.look || {};
    ask = ["name", "email", "both"].includes(look.ask) ? look.ask : "none";
    required = Boolean(look.ask_required);
    relabel();
    const wrote =
      (hello.messages || []).some((m) => m.author === "visitor") ||
      Boolean(api.list.querySelector("[data-author=visitor]"));
    box.hidden = ask === "none" || api.recall("introduced") === true || (wrote && !waiting);
  });

  api.beforeSend((extra) => {
    if (box.hidden) return true;
    const given = { name: name.value.trim(), email: email.value.trim() };
    if (asks("name") && required && !given.name) {
      refuse(api.t("prechat.name_missing", ""), name);
      return false;
    }
    if (asks("email") && required && !given.email) {
      refuse(api.t("prechat.email_missing", ""), email);
      return false;
    }
    if (asks("email") && given.email && !looksLikeAddress(given.email)) {
      refuse(api.t("prechat.email_invalid", ""), email);
      return false;
    }
    refuse("");
    if (asks("name") && given.name) extra.name = given.name;
    waiting = asks("email") && given.email ? { name: extra.name, email: given.email } : null;
    if (!waiting) done();
    else box.hidden = true;
    return true;
  });

  function done() {
    box.hidden = true;
    waiting = null;
    api.remember("introduced", true);
  }

  api.on("ack", async () => {
    if (!waiting) return;
    const body = JSON.stringify(waiting);
    try {
      const response = await api.fetch("/api/visitor/contact", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
      if (response.ok) {
        done();
        return;
      }
      const answer = await response.json().catch(() => ({}));
      // Refused (an address that is not one): asked again, with the server's reason; the
      // next message leaves the corrected one.
      box.hidden = false;
      refuse(answer.detail || api.t("prechat.email_invalid", ""), email);
      api.setStatus(answer.detail || "", true);
    } catch (e) {
      box.hidden = false; // unreachable just now: asked again with the next message
    }
  });
});
