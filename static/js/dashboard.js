// Live tiles of the dashboard: refreshed when the inbox moves (websocket) and every 30 s.
(function () {
  "use strict";
  const tiles = document.querySelector("[data-testid=live-tiles]");
  if (!tiles) return;

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  async function refresh() {
    const response = await fetch("/api/metrics/live", { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    tiles.querySelector("[data-tile=waiting]").textContent = String(data.waiting);
    tiles.querySelector("[data-tile=oldest]").textContent = duration(data.oldest_waiting_seconds);
    tiles.querySelector("[data-tile=answered]").textContent = String(data.answered_today);
    tiles.querySelector("[data-tile=median]").textContent = duration(data.median_today_seconds);
  }

  let timer = null;
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/adviser`);
    socket.addEventListener("message", (ev) => {
      const frame = JSON.parse(ev.data);
      if (frame.type === "message.created" || frame.type === "conversation.changed") soon();
    });
    socket.addEventListener("close", () => setTimeout(connect, 3000));
  }

  refresh();
  connect();
  setInterval(refresh, 30000);
})();
