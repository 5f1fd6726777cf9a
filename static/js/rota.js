// The rota page after a refused change: the address still reads the form's POST URL, so a reload
// would send the form again. Show the page's own address instead, and take the keyboard to the
// list of what to correct (each entry links to its field).
const page = document.querySelector("[data-page-url]");
if (page && window.location.pathname !== "/rota") {
  window.history.replaceState(null, "", page.dataset.pageUrl);
}
const summary = document.getElementById("rota-errors");
if (summary) summary.focus();
