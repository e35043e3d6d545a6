// Optional enhancement of the speakers table on an event's back-office page: drag a row by its
// handle to reorder, and the whole order is posted at once. Without this script (or without a
// mouse), the "Monter" / "Descendre" buttons do the same, one step at a time.
(function () {
  "use strict";

  function enhance(table) {
    var form = document.getElementById(table.getAttribute("data-reorder-form"));
    var body = table.tBodies[0];
    if (!form || !body || body.rows.length < 2) return;
    var orderInput = form.querySelector('input[name="order"]');
    var dragged = null;

    Array.prototype.forEach.call(body.rows, function (row) {
      var handle = document.createElement("span");
      handle.className = "drag-handle";
      handle.textContent = "⠿";
      handle.title = table.getAttribute("data-drag-label") || "";
      handle.setAttribute("aria-hidden", "true"); // the buttons serve keyboards and screen readers
      row.cells[0].prepend(handle);
      row.draggable = true;
      row.addEventListener("dragstart", function (event) {
        dragged = row;
        row.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", row.getAttribute("data-link-id"));
      });
      row.addEventListener("dragend", function () {
        row.classList.remove("dragging");
        dragged = null;
      });
      row.addEventListener("dragover", function (event) {
        if (!dragged || dragged === row) return;
        event.preventDefault();
        var box = row.getBoundingClientRect();
        var after = event.clientY > box.top + box.height / 2;
        body.insertBefore(dragged, after ? row.nextSibling : row);
      });
      row.addEventListener("drop", function (event) {
        event.preventDefault();
        var ids = Array.prototype.map.call(body.rows, function (item) {
          return item.getAttribute("data-link-id");
        });
        if (ids.join(",") === orderInput.value) return;
        orderInput.value = ids.join(",");
        form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.reorderable"), enhance);
  });
})();
