// The labelling page's keyboard: a label's key answers, X opens "can't judge", U undoes. Plain JavaScript, no
// build step; without it every action is still a button of an ordinary form.
(function () {
  "use strict";
  var sent = false;
  var cantJudge = document.getElementById("cant-judge");
  var note = document.getElementById("note");

  // One post per page: a second key press or click before the next page arrives is dropped.
  document.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    sent = true;
    document.body.classList.add("busy");
  });

  function press(button) {
    if (button.form.requestSubmit) { button.form.requestSubmit(button); } else { button.click(); }
  }

  if (note) {
    note.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        press(document.getElementById("cant-judge-send"));
      } else if (event.key === "Escape") {
        note.blur();
      }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) { return; }
    var tag = event.target.tagName;
    if (tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT") { return; }
    var key = event.key.toLowerCase();
    if (key === "x" && cantJudge) {
      event.preventDefault();
      cantJudge.open = true;
      note.focus();
      return;
    }
    var buttons = document.querySelectorAll("button[data-key]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute("data-key") === key) {
        event.preventDefault();
        press(buttons[i]);
        return;
      }
    }
  });
})();
