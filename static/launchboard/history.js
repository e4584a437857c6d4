// The history page: the slider says which version it is on while it moves.
"use strict";
(() => {
  const slider = document.getElementById("version-slider");
  const shown = document.getElementById("version-shown");
  if (slider && shown) slider.addEventListener("input", () => { shown.value = slider.value; });
})();
