// A print button beside the filters (printing needs no script; the button only saves a menu).
(function () {
  var button = document.querySelector(".print-button");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }
})();
