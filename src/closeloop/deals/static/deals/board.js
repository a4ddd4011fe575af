// Kanban drag and drop (HTML5). Dropping a card posts the move with HTMX: a successful move reloads
// the board (counts and sums change); a stage gate answers with a small form shown in a dialog.
// Without JavaScript each card's own stage selector and button do the same.
document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("board");
  if (!board || !window.htmx) return;
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
        values: {stage: column.dataset.stage, next: location.pathname + location.search, csrfmiddlewaretoken: token},
        headers: {"X-CSRFToken": token},
      });
    });
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "gate-body" && event.detail.target.innerHTML.trim()) {
      document.getElementById("gate-dialog").showModal();
    }
  });
});
