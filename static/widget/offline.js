// Never silent (app/offline.py): when nobody is online, who will answer and when, and an
// optional address so that the answer reaches the visitor if they have left. Shown above the
// message form; the hello frame and the stored "offline" frame carry the same object:
// {show, text, can_leave, has_conversation, email (masked, "" when none)}.
parts.push(function (api) {
  const box = document.createElement("div");
  box.className = "offline";
  box.dataset.testid = "widget-offline";
  box.hidden = true;
  api.slots.aboveForm.append(box);
  const state = { show: false, text: "", can_leave: false, has_conversation: false, email: "", error: "", done: "" };
  const ids = { purpose: "concierge-offline-purpose", email: "concierge-offline-email" };

  api.style(`
    .offline { margin: 6px 12px 0; padding: 8px 10px; border-radius: 10px; background: #eef6f7; color: #1d2430; font-size: 13px; line-height: 1.4; max-height: 45vh; overflow-y: auto; }
    .offline[hidden] { display: none; }
    .offline form { display: block; padding: 0; border: 0; margin: 6px 0 0; border-top: 1px solid #d3e3e5; padding-top: 6px; }
    .offline p { margin: 0 0 6px; }
    .offline .purpose { color: #3f4b59; }
    .offline label { display: block; font-weight: 600; margin-bottom: 2px; }
    .offline .row { display: flex; gap: 6px; flex-wrap: wrap; }
    .offline input { flex: 1 1 160px; height: 34px; min-width: 0; font-size: 14px; padding: 6px 8px; border: 1px solid #8a96a3; border-radius: 8px; }
    .offline button { background: #0b6e77; color: #fff; border: 0; border-radius: 8px; padding: 6px 10px; font-weight: 600; cursor: pointer; font-size: 13px; }
    .offline button.link { background: none; color: #0b6e77; padding: 0; text-decoration: underline; font-weight: 400; }
    .offline input:focus-visible, .offline button:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
    .offline .error { color: #b3261e; margin: 4px 0 0; }
  `);

  function el(tag, props, text) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([k, v]) => {
      if (k === "testid") node.dataset.testid = v;
      else node.setAttribute(k, v);
    });
    if (text) node.textContent = text;
    return node;
  }

  function render() {
    box.hidden = !(state.show || state.email || state.done);
    const nodes = [];
    if (state.show && state.text) nodes.push(el("p", { testid: "widget-offline-text", dir: "auto" }, state.text));
    if (state.email) {
      nodes.push(el("p", { testid: "widget-offline-saved", role: "status" }, api.fill("offline.saved", "", { email: state.email })));
      const remove = el("button", { type: "button", class: "link", testid: "widget-offline-remove" }, api.t("offline.remove", "Remove"));
      remove.addEventListener("click", removeAddress);
      nodes.push(remove);
    } else if (state.done) {
      nodes.push(el("p", { testid: "widget-offline-removed", role: "status" }, state.done));
    }
    if (state.show && state.can_leave && !state.email) {
      if (!state.has_conversation) {
        nodes.push(el("p", { class: "purpose", testid: "widget-offline-later" }, api.t("offline.after_message", "")));
      } else {
        nodes.push(addressForm());
      }
    }
    box.replaceChildren(...nodes);
  }

  function addressForm() {
    const form = el("form", { testid: "widget-offline-form", novalidate: "" });
    const purpose = el("p", { id: ids.purpose, class: "purpose", testid: "widget-offline-purpose" }, api.t("offline.purpose", ""));
    const label = el("label", { for: ids.email }, api.t("offline.email_label", "E-mail"));
    const input = el("input", {
      id: ids.email,
      type: "email",
      autocomplete: "email",
      inputmode: "email",
      maxlength: "254",
      "aria-describedby": ids.purpose,
      testid: "widget-offline-email",
    });
    const send = el("button", { type: "submit", testid: "widget-offline-submit" }, api.t("offline.submit", "Send"));
    const row = el("div", { class: "row" });
    row.append(input, send);
    form.append(purpose, label, row);
    if (state.error) {
      const error = el("p", { class: "error", role: "alert", testid: "widget-offline-error" }, state.error);
      input.setAttribute("aria-invalid", "true");
      form.append(error);
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      leaveAddress(input.value);
    });
    return form;
  }

  async function answer(response) {
    let body = {};
    try {
      body = await response.json();
    } catch (e) {
      body = {};
    }
    return body;
  }

  async function leaveAddress(value) {
    try {
      const response = await api.fetch("/api/visitor/contact", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: value }),
      });
      const body = await answer(response);
      if (!response.ok) {
        state.error = body.detail || api.t("error.unavailable", "");
      } else {
        state.error = "";
        state.done = "";
        state.email = body.email || "";
      }
    } catch (e) {
      state.error = api.t("error.unavailable", "");
    }
    render();
    const focus = box.querySelector(state.error ? "[data-testid=widget-offline-email]" : "[data-testid=widget-offline-remove]");
    if (focus) focus.focus();
  }

  async function removeAddress() {
    try {
      const response = await api.fetch("/api/visitor/contact/email", { method: "DELETE" });
      if (response.ok) {
        state.email = "";
        state.done = api.t("offline.removed", "");
      }
    } catch (e) {
      /* the address stays; the button is still there to try again */
    }
    render();
  }

  function apply(offline) {
    if (!offline) return;
    state.show = Boolean(offline.show);
    state.text = offline.text || "";
    state.can_leave = Boolean(offline.can_leave);
    state.has_conversation = Boolean(offline.has_conversation);
    state.email = offline.email || "";
    render();
  }

  api.on("hello", (frame) => apply(frame.offline));
  api.on("offline", (frame) => apply(frame));
  api.on("ack", () => {
    // The first message opened the conversation: the address can go with it now.
    if (!state.has_conversation) {
      state.has_conversation = true;
      render();
    }
  });
  api.on("message", (frame) => {
    // An adviser answered: nobody is missing any more (the address stays, for later replies).
    if (frame.message && frame.message.author === "adviser" && state.show) {
      state.show = false;
      render();
    }
  });
});
