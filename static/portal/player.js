/* Asset page: a video's frame strip seeks the player to the frame's time. */
(function () {
  "use strict";

  var player = document.querySelector("[data-testid=player]");
  if (!player) { return; }
  document.querySelectorAll("[data-seek]").forEach(function (button) {
    button.addEventListener("click", function () {
      var seconds = parseFloat(button.getAttribute("data-seek"));
      if (isNaN(seconds)) { return; }
      player.currentTime = seconds;
      player.play().catch(function () { /* autoplay refused: the frame is shown, paused */ });
    });
  });
})();
