// Satisfaction (app/surveys.py): once the conversation is resolved the widget asks for a 1-5
// rating and an optional comment, above the message form, until it is answered or expires.
// The question comes in the `hello` frame while pending, or live as a `survey` frame; a
// `survey.answered` frame (another tab answered) takes it away. Everything is inserted as text.
parts.push(function (api) {
  api.style(`
    form.survey { display: block; margin: 6px 10px; padding: 10px; border: 1px solid #cfd5dc; border-radius: 12px; background: #f7fafb; font-size: 14px; }
    .survey fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
    .survey legend { font-weight: 600; margin-bottom: 6px; padding: 0; }
    .survey .scale { display: grid; grid-template-columns: repeat(5, 1fr); gap: 4px; }
    .survey label.choice { display: flex; flex-direction: column; align-items: center; gap: 1px; padding: 5px 2px; border: 2px solid #cfd5dc; border-radius: 9px; cursor: pointer; background: #fff; text-align: center; }
    .survey label.choice input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
    .survey label.choice b { font-size: 16px; }
    .survey label.choice small { font-size: 10px; color: #4a5562; line-height: 1.2; overflow-wrap: break-word; hyphens: auto; max-width: 100%; }
    .survey label.choice.checked { border-color: #0b6e77; background: #e6f3f4; }
    .survey label.choice:focus-within { outline: 3px solid #f0a500; outline-offset: 1px; }
    .survey textarea { display: block; width: 100%; height: 44px; max-height: 90px; flex: none; margin-top: 8px; font-size: 13px; padding: 6px 8px; border: 1px solid #cfd5dc; border-radius: 8px; resize: vertical; }
    .survey .row { display: flex; gap: 8px; justify-content: flex-end; margin-top: 6px; }
    .survey .row button { border: 0; border-radius: 9px; padding: 6px 12px; font-weight: 600; cursor: pointer; font-size: 13px; }
    .survey .row .send { background: #0b6e77; color: #fff; }
    .survey .row .later { background: none; color: #0b6e77; }
    .survey .error { color: #b3261e; font-size: 12px; margin: 4px 0 0; min-height: 0; }
    .survey .error:empty { display: none; }
  `);

  let box = null;
  let current = null; // the pending survey's id
  let dismissed = false; // "not now": hidden for this page, asked again after a reload

  function remove() {
    if (box) box.remove();
    box = null;
    current = null;
  }

  function show(survey) {
    if (!survey || !survey.id || dismissed) return;
    if (current === survey.id && box) return;
    remove();
    current = survey.id;
    box = document.createElement("form");
    box.className = "survey";
    box.dataset.testid = "widget-survey";
    box.noValidate = true;
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.id = "concierge-survey-question";
    legend.textContent = api.t("survey.question", "How did we do?");
    const scale = document.createElement("div");
    scale.className = "scale";
    scale.setAttribute("role", "radiogroup");
    scale.setAttribute("aria-labelledby", legend.id);
    for (let value = 1; value <= 5; value++) {
      const label = document.createElement("label");
      label.className = "choice";
      label.dataset.testid = `widget-survey-${value}`;
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "rating";
      input.value = String(value);
      input.addEventListener("change", () => {
        scale.querySelectorAll("label.choice").forEach((l) => l.classList.toggle("checked", l.contains(input)));
      });
      const number = document.createElement("b");
      number.textContent = String(value);
      number.setAttribute("aria-hidden", "true");
      const word = document.createElement("small");
      word.textContent = api.t(`survey.rating_${value}`, String(value));
      // The name read out: "4 - Good".
      input.setAttribute("aria-label", `${value} - ${word.textContent}`);
      label.append(input, number, word);
      scale.append(label);
    }
    fieldset.append(legend, scale);
    const comment = document.createElement("textarea");
    comment.maxLength = 1000;
    comment.dir = "auto";
    comment.dataset.testid = "widget-survey-comment";
    comment.placeholder = api.t("survey.comment", "Comment");
    comment.setAttribute("aria-label", api.t("survey.comment", "Comment"));
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "alert");
    error.dataset.testid = "widget-survey-error";
    const row = document.createElement("div");
    row.className = "row";
    const later = document.createElement("button");
    later.type = "button";
    later.className = "later";
    later.dataset.testid = "widget-survey-later";
    later.textContent = api.t("survey.later", "Not now");
    later.addEventListener("click", () => {
      dismissed = true;
      remove();
      api.input.focus();
    });
    const send = document.createElement("button");
    send.type = "submit";
    send.className = "send";
    send.dataset.testid = "widget-survey-send";
    send.textContent = api.t("survey.send", "Send");
    row.append(later, send);
    box.append(fieldset, comment, error, row);
    box.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const chosen = box.querySelector("input[name=rating]:checked");
      if (!chosen) {
        error.textContent = api.t("survey.choose", "1-5");
        scale.querySelector("input").focus();
        return;
      }
      send.disabled = true;
      error.textContent = "";
      try {
        const response = await api.fetch("/api/visitor/survey", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ rating: Number(chosen.value), comment: comment.value }),
        });
        if (response.ok) {
          remove();
          api.say(api.t("survey.thanks", "Thank you!"), "widget-survey-thanks");
          return;
        }
        const body = await response.json().catch(() => ({}));
        const detail = typeof body.detail === "string" ? body.detail : "";
        if (response.status === 404 || response.status === 409 || response.status === 410) {
          remove();
          api.say(detail, "widget-survey-closed");
          return;
        }
        error.textContent = detail || api.t("reconnecting", "…");
      } catch (e) {
        error.textContent = api.t("reconnecting", "…");
      }
      send.disabled = false;
    });
    api.slots.aboveForm.append(box);
    // The question takes room from the messages, whose list then scrolls: keyboard users must
    // be able to scroll it too (core.js may do this for every long conversation).
    if (!api.list.hasAttribute("tabindex")) api.list.tabIndex = 0;
    api.list.scrollTop = api.list.scrollHeight; // the last answer stays in sight above it
  }

  api.on("hello", (frame) => {
    if (frame.survey) show(frame.survey);
    else remove();
  });
  api.on("survey", (frame) => show(frame.survey));
  api.on("survey.answered", (frame) => {
    if (current === frame.id) remove();
  });
});
