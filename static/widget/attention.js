// Attention (app/widget_look.py's title_badge): a reply that arrives while the panel is closed
// (or the tab hidden) shows a count on the bubble, announced as "2 new messages", and, when the
// widget's setting says so, in the host page's title: "(2) Original title". Opening the panel
// (with the tab visible) reads them: the badge goes and the title is the page's own again.
// The count outlives a reload of the page (kept with the token).
parts.push(function (api) {
  api.style(`
    .unread { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
      border-radius: 11px; background: #b3261e; color: #fff; font: 700 12px/22px system-ui, sans-serif;
      text-align: center; box-shadow: 0 0 0 2px #fff; }
    .unread[hidden] { display: none; }
  `);
  const badge = document.createElement("span");
  badge.className = "unread";
  badge.dataset.testid = "widget-unread";
  badge.setAttribute("aria-hidden", "true"); // the bubble's label says it in words
  badge.hidden = true;
  api.bubble.append(badge);

  const seen = new Set(); // message ids already shown: a replayed one is not new again
  let unread = Number(api.recall("unread")) || 0;
  let ownTitle = null; // the page's title without our "(n) "
  let shownPrefix = "";

  function reading() {
    return api.isOpen() && document.visibilityState !== "hidden";
  }

  function label(count) {
    if (count === 1) return api.t("unread_one", "1 new message");
    return api.fill("unread", "{count} new messages", { count });
  }

  function show() {
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    const open = api.t("open", "Chat");
    api.bubble.setAttribute("aria-label", unread ? `${open} — ${label(unread)}` : open);
    showTitle();
  }

  function showTitle() {
    const wanted = api.look().title_badge !== false && unread > 0;
    // The host page may have changed its own title since: that one is the title now.
    if (ownTitle === null || !shownPrefix || !document.title.startsWith(shownPrefix)) {
      ownTitle = document.title;
    }
    shownPrefix = wanted ? `(${unread > 99 ? "99+" : unread}) ` : "";
    const title = shownPrefix + ownTitle;
    if (document.title !== title) document.title = title;
  }

  function setUnread(count) {
    unread = count;
    api.remember("unread", count);
    show();
  }

  api.on("hello", (hello) => {
    (hello.messages || []).forEach((m) => seen.add(m.id));
    if (reading() && unread) setUnread(0);
    else show();
  });
  api.on("message", (frame) => {
    const m = frame.message || {};
    if (seen.has(m.id)) return;
    seen.add(m.id);
    if (m.author !== "visitor" && !reading()) setUnread(unread + 1);
  });
  api.onToggle(() => {
    if (reading() && unread) setUnread(0);
  });
  document.addEventListener("visibilitychange", () => {
    if (reading() && unread) setUnread(0);
  });
});
