// Optional enhancement of the event page's share section: a button that copies the page's
// address. Without this script the address stays in its read-only field, to select and copy.
(function () {
  "use strict";

  function copy(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    // Plain http (a development server): the older way, on the selected text.
    input.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject();
  }

  function enhance(box) {
    var input = box.querySelector("input");
    if (!input) return;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = box.getAttribute("data-copy-button");
    var status = document.createElement("p");
    status.className = "share-copy-status";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      copy(input).then(
        function () { status.textContent = box.getAttribute("data-copy-done"); },
        function () {
          input.select();
          status.textContent = box.getAttribute("data-copy-failed");
        }
      );
    });
    input.after(button);
    box.appendChild(status);
  }

  Array.prototype.forEach.call(document.querySelectorAll(".share-copy[data-copy-button]"), enhance);
})();
