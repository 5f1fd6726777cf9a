// The managers' accounts page: a "Copy the code" button beside each chat widget's code to
// paste into a website. Without JavaScript the button stays hidden and the code can be
// selected in its read-only box.

for (const button of document.querySelectorAll("[data-copy]")) {
  const box = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector("[data-copy-status]");
  if (!box) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    box.focus();
    box.select();
    try {
      await navigator.clipboard.writeText(box.value);
    } catch {
      // No clipboard API (an address without TLS): the selected text is copied the old way.
      document.execCommand("copy");
    }
    if (status) status.textContent = button.dataset.copied;
  });
}
