// Files both ways in the widget: a paperclip (and drag-and-drop, paste) to send a photo or a
// PDF, and each message's files listed under it — a thumbnail for a photo, a download button
// for every file. Files are fetched with the visitor's token (a header, never a URL), then
// shown or saved through a blob URL. Names are inserted as text only.
parts.push(function (api) {
  const DOCUMENT_ICON =
    '<svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round">' +
    '<path d="M14 3H6v18h12V7z"/><path d="M14 3v4h4"/></svg>';
  const PHOTO_ICON =
    '<svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round">' +
    '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 16l5-5 4 4 3-3 6 6"/></svg>';
  const ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf,.jpg,.jpeg,.png,.gif,.webp,.pdf";

  api.style(`
    .clip { background: none; border: 1px solid #cfd5dc; color: #1d2430; border-radius: 10px; width: 42px; height: 42px;
      display: grid; place-items: center; cursor: pointer; padding: 0; }
    .clip svg { width: 20px; height: 20px; }
    .clip[disabled] { opacity: .5; cursor: progress; }
    .form-tools { display: flex; }
    .files { list-style: none; margin: 6px 0 0; padding: 0; display: flex; flex-direction: column; gap: 4px; max-width: 100%; }
    .files li { max-width: 100%; padding: 0; background: none; border-radius: 0; white-space: normal; }
    .file { display: flex; align-items: center; gap: 6px; font: inherit; font-size: 13px; color: inherit; background: rgba(255,255,255,.18);
      border: 1px solid currentColor; border-radius: 8px; padding: 4px 8px; cursor: pointer; text-align: start; max-width: 100%; }
    li.adviser .file, li.system .file { background: #fff; }
    .file .icon { display: inline-flex; flex: none; }
    .file span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
    .thumb { display: block; max-width: 100%; max-height: 180px; border-radius: 8px; margin-top: 4px; background: #e2e6eb; }
    .panel.dropping ol { outline: 3px dashed #0b6e77; outline-offset: -6px; }
  `);

  const clip = document.createElement("button");
  clip.type = "button";
  clip.className = "clip";
  clip.dataset.testid = "widget-attach";
  clip.innerHTML =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true">' +
    '<path d="M21 11.5l-8.5 8.5a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8"/></svg>';
  const picker = document.createElement("input");
  picker.type = "file";
  picker.accept = ACCEPT;
  picker.hidden = true;
  picker.dataset.testid = "widget-file-input";
  api.slots.formTools.append(clip, picker);

  function label() {
    const text = api.t("files.attach", "Attach a photo or PDF");
    clip.setAttribute("aria-label", text);
    clip.title = text;
  }
  label();
  let cap = null; // {max_bytes, max} from the hello frame
  api.on("hello", (hello) => {
    label();
    cap = hello.files || null;
  });

  clip.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    if (picker.files && picker.files[0]) send(picker.files[0]);
    picker.value = "";
  });

  function clientId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // One file at a time; the text typed so far goes with it. The message itself is shown when
  // the socket brings it back, like any stored message.
  async function send(file) {
    if (!api.token()) {
      api.setStatus(api.t("files.error.not_connected", ""), true);
      return;
    }
    if (cap && file.size > cap.max_bytes) {
      api.setStatus(api.fill("files.error.too_large", "", { max: cap.max }), true);
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("client_id", clientId());
    const text = api.input.value.trim();
    if (text) form.append("text", text);
    clip.disabled = true;
    api.setStatus(api.fill("files.sending", "…", { name: file.name }));
    try {
      const response = await api.fetch("/api/visitor/files", { method: "POST", body: form });
      if (!response.ok) {
        let detail = "";
        try {
          detail = (await response.json()).detail;
        } catch (e) {
          /* not JSON: the generic reason below */
        }
        api.setStatus(detail || api.t("files.error.failed", ""), true);
        return;
      }
      if (text) api.input.value = "";
      api.setStatus("");
    } catch (e) {
      api.setStatus(api.t("files.error.failed", ""), true);
    } finally {
      clip.disabled = false;
    }
  }

  function size(bytes) {
    return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
  }

  async function blobOf(path) {
    const response = await api.fetch(path);
    if (!response.ok) throw new Error(String(response.status));
    return URL.createObjectURL(await response.blob());
  }

  async function download(file) {
    try {
      const url = await blobOf(`/api/visitor/files/${file.id}`);
      const a = document.createElement("a");
      a.href = url;
      a.download = file.filename;
      api.shadow.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      api.setStatus(api.t("files.error.not_found", ""), true);
    }
  }

  api.decorate((li, message) => {
    const files = message.attachments || [];
    if (!files.length) return;
    const ul = document.createElement("ul");
    ul.className = "files";
    files.forEach((file) => {
      const item = document.createElement("li");
      item.dataset.testid = "widget-file";
      item.dataset.fileId = String(file.id);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "file";
      button.dataset.testid = "widget-file-download";
      button.setAttribute("aria-label", api.fill("files.download", "{name}", { name: file.filename }));
      const icon = document.createElement("span");
      icon.className = "icon";
      icon.setAttribute("aria-hidden", "true");
      icon.innerHTML = file.image ? PHOTO_ICON : DOCUMENT_ICON; // constants, never data
      const name = document.createElement("span");
      name.dir = "auto";
      name.textContent = `${file.filename} · ${size(file.size)}`;
      button.append(icon, name);
      button.addEventListener("click", () => download(file));
      item.append(button);
      if (file.image) {
        const img = document.createElement("img");
        img.className = "thumb";
        img.alt = file.filename;
        img.dataset.testid = "widget-file-thumbnail";
        blobOf(`/api/visitor/files/${file.id}/thumbnail`)
          .then((url) => (img.src = url))
          .catch(() => img.remove());
        item.append(img);
      }
      ul.append(item);
    });
    li.append(ul);
  });

  // Drag and drop onto the panel, or paste a copied picture into the message box.
  api.panel.addEventListener("dragover", (ev) => {
    if (!ev.dataTransfer || !Array.from(ev.dataTransfer.types || []).includes("Files")) return;
    ev.preventDefault();
    api.panel.classList.add("dropping");
  });
  api.panel.addEventListener("dragleave", (ev) => {
    if (ev.target === api.panel) api.panel.classList.remove("dropping");
  });
  api.panel.addEventListener("drop", (ev) => {
    api.panel.classList.remove("dropping");
    const file = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (!file) return;
    ev.preventDefault();
    send(file);
  });
  api.input.addEventListener("paste", (ev) => {
    const file = ev.clipboardData && ev.clipboardData.files && ev.clipboardData.files[0];
    if (!file) return;
    ev.preventDefault();
    send(file);
  });
});
