// Drag a stage's row to reorder a pipeline's stages (deals/settings.html). The row's up/down buttons post the same
// place without this script; the drag posts the row's new index to the same URL and reloads the page, whose
// positions the server renumbered. A row moves only among the rows of its side (open, or won and lost: data-side).
// HTML5 drag-and-drop: a mouse or a pen; a phone keeps the buttons.
(() => {
  "use strict";

  let dragged = null;
  let from = -1;

  const rowsOf = (body) => Array.from(body.querySelectorAll(":scope > tr[data-move]"));

  document.addEventListener("dragstart", (event) => {
    const row = event.target.closest && event.target.closest("tbody[data-stage-sort] > tr[data-move]");
    if (!row) return;
    dragged = row;
    from = rowsOf(row.parentElement).indexOf(row);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.move);
    row.classList.add("dragging");
  });

  document.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const over = event.target.closest && event.target.closest("tr[data-move]");
    if (!over || over === dragged || over.parentElement !== dragged.parentElement) return;
    // Open stages stay before the won and lost ones (the server keeps them so): a row moves only among its side.
    if (over.dataset.side !== dragged.dataset.side) return;
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    over.parentElement.insertBefore(dragged, after ? over.nextSibling : over);
  });

  document.addEventListener("drop", (event) => {
    if (dragged) event.preventDefault();
  });

  document.addEventListener("dragend", () => {
    if (!dragged) return;
    const row = dragged;
    const to = rowsOf(row.parentElement).indexOf(row);
    row.classList.remove("dragging");
    dragged = null;
    if (to === from) return;
    const body = new FormData();
    body.append("csrfmiddlewaretoken", row.querySelector("input[name=csrfmiddlewaretoken]").value);
    body.append("index", String(to));
    // Not following the redirect: the page it names is the reload, which shows the "moved" message.
    fetch(row.dataset.move, { method: "POST", body, credentials: "same-origin", redirect: "manual" })
      .then(() => window.location.reload());
  });
})();
