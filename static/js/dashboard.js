// Live tiles of the dashboard: refreshed when the inbox moves (websocket) and every 30 s.
// Figures are written in the page's language, like the server writes them (app/timefmt.py):
// the unit words come from the catalog, the numbers from Intl ("1 234" / "1,234").
(function () {
  "use strict";
  const tiles = document.querySelector("[data-testid=live-tiles]");
  if (!tiles) return;

  const lang = document.documentElement.lang === "en" ? "en-GB" : "fr-FR";
  const catalogNode = document.getElementById("i18n");
  const catalog = catalogNode ? JSON.parse(catalogNode.textContent) : {};
  const integer = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });

  function t(key, params) {
    const text = catalog[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name]));
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    if (s < 60) return t("fmt.seconds", { n: s });
    if (s < 3600) return t("fmt.minutes", { n: Math.floor(s / 60) });
    if (s < 86400) {
      const m = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
      return t("fmt.hours_minutes", { h: Math.floor(s / 3600), m });
    }
    return t("fmt.days_hours", { d: integer.format(Math.floor(s / 86400)), h: Math.floor((s % 86400) / 3600) });
  }

  async function refresh() {
    const response = await fetch("/api/metrics/live", { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    tiles.querySelector("[data-tile=waiting]").textContent = integer.format(data.waiting);
    tiles.querySelector("[data-tile=oldest]").textContent = duration(data.oldest_waiting_seconds);
    tiles.querySelector("[data-tile=answered]").textContent = integer.format(data.answered_today);
    tiles.querySelector("[data-tile=median]").textContent = duration(data.median_today_duty_seconds);
    const wall = tiles.querySelector("[data-tile=median-wall]");
    if (wall) wall.textContent = t("dash.tile_wall", { value: duration(data.median_today_seconds) });
  }

  let timer = null;
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/adviser?batch=1`);
    socket.addEventListener("message", (ev) => {
      const data = JSON.parse(ev.data);
      const frames = Array.isArray(data) ? data : [data]; // events that waited together
      if (frames.some((f) => f.type === "message.created" || f.type === "conversation.changed")) soon();
    });
    socket.addEventListener("close", () => setTimeout(connect, 3000));
  }

  refresh();
  connect();
  setInterval(refresh, 30000);
})();
