// Kanban drag and drop (HTML5). Dropping a card posts the move with HTMX. A successful move answers with
// out-of-band swaps (the card into its new column, both column headers with their new totals) and no
// reload; a stage gate answers with a small form shown in a dialog, which posts the same way.
// Without JavaScript each card's own stage selector and button do the same with a full page.
document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("board");
  if (!board || !window.htmx) return;
  const dialog = document.getElementById("gate-dialog");
  let dragged = null;
  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".card");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    board.querySelectorAll(".column.over").forEach((c) => c.classList.remove("over"));
  });
  board.querySelectorAll(".column").forEach((column) => {
    column.addEventListener("dragover", (event) => {
      event.preventDefault();
      column.classList.add("over");
    });
    column.addEventListener("dragleave", () => column.classList.remove("over"));
    column.addEventListener("drop", (event) => {
      event.preventDefault();
      column.classList.remove("over");
      const card = dragged || document.getElementById(event.dataTransfer.getData("text/plain"));
      if (!card || card.dataset.stage === column.dataset.stage) return;
      const token = card.querySelector("input[name=csrfmiddlewaretoken]").value;
      htmx.ajax("POST", card.dataset.moveUrl, {
        target: "#gate-body", swap: "innerHTML",
        values: {
          stage: column.dataset.stage, next: location.pathname + location.search, csrfmiddlewaretoken: token,
          // Ask for the board's pieces instead of a redirect; the owner filter keeps the totals as shown.
          board: "1", owner: board.dataset.owner || "", department: board.dataset.department || "",
        },
        headers: {"X-CSRFToken": token},
      });
    });
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "gate-body") return;
    // A gate form to fill opens the dialog; an empty answer is a move that went through.
    if (event.detail.target.innerHTML.trim()) {
      if (!dialog.open) dialog.showModal();
    } else if (dialog.open) {
      dialog.close();
    }
  });
});
